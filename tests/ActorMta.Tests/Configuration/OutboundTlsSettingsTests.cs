using System.Net;
using System.Security.Authentication;
using ActorMta.Configuration;
using ActorMta.Tests.Shared;
using Xunit;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary>The client's TLS keys in actormta.outbound: defaults, loading, and errors naming file, line and key.</summary>
public sealed class OutboundTlsSettingsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actormta-tlsconf-" + Guid.NewGuid().ToString("N"));

    public OutboundTlsSettingsTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WriteFile(string line)
    {
        string path = Path.Combine(_folder, "test.conf");
        File.WriteAllText(path, $"actormta {{\n  outbound {{\n    {line}\n  }}\n}}\n");
        return path;
    }

    [Fact]
    public void DefaultsAreOpportunisticTls12And13With465OnConnect()
    {
        var tls = SettingsLoader.Load(null, []).Settings.Outbound.Tls;

        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, tls.Protocols);
        Assert.Equal([465], tls.TlsOnConnectPorts);
        Assert.False(tls.HostsRequireTls.Matches(IPAddress.Parse("192.0.2.1"), "mx.example.net"));
        Assert.False(tls.HostsVerifyTls.Matches(IPAddress.Parse("192.0.2.1"), "mx.example.net"));
        Assert.Null(tls.TrustedRoots);
        Assert.True(tls.TempfailTryClear);
        Assert.Equal(TimeSpan.FromHours(1), tls.ClearAfterFailure);
    }

    [Fact]
    public void PolicyListsAndTheCaFileAreLoaded()
    {
        using var ca = TestCertificates.CreateAuthority();
        string caFile = ca.WriteAuthorityPem(_folder);

        var tls = SettingsLoader.Load(null, [
            "actormta.outbound.hosts-require-tls=[\"*.example.net\"]",
            "actormta.outbound.hosts-verify-tls=[\"192.0.2.0/24\"]",
            $"actormta.outbound.tls-verify-certificates=\"{caFile}\"",
            "actormta.outbound.tls-protocols=[\"TLS1.3\"]",
            "actormta.outbound.tls-on-connect-ports=[465, 10465]",
        ]).Settings.Outbound.Tls;

        Assert.True(tls.HostsRequireTls.Matches(IPAddress.Parse("198.51.100.1"), "mx.example.net"));
        Assert.True(tls.HostsVerifyTls.Matches(IPAddress.Parse("192.0.2.7"), "other.test"));
        Assert.Equal(ca.Authority.Thumbprint, Assert.Single(tls.TrustedRoots!).Thumbprint);
        Assert.Equal(SslProtocols.Tls13, tls.Protocols);
        Assert.Equal([465, 10465], tls.TlsOnConnectPorts.Order());
    }

    [Theory]
    [InlineData("tls-protocols = [\"SSLv3\"]", "tls-protocols", "expected \"TLS1.2\" and/or \"TLS1.3\"")]
    [InlineData("tls-protocols = []", "tls-protocols", "must name at least one protocol")]
    [InlineData("tls-verify-certificates = \"/nonexistent/ca.pem\"", "tls-verify-certificates", "cannot read trusted certificates")]
    [InlineData("tls-on-connect-ports = [\"smtps\"]", "tls-on-connect-ports", "expected TCP ports")]
    [InlineData("tls-clear-after-failure = 10", "tls-clear-after-failure", "expected a positive duration")]
    public void BadValuesNameFileLineAndKey(string line, string key, string why)
    {
        string file = WriteFile(line);

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:3", error.Location);
        Assert.Equal("actormta.outbound." + key, error.Path);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }
}
