using System.Net;
using ActorMta.Configuration;
using ActorMta.Smtp;
using ActorMta.Tests.Shared;

namespace ActorMta.Tests.Tls;

/// <summary>A throw-away CA, a server certificate for the test MTA's name and 127.0.0.1, and its PEM files.</summary>
public sealed class TlsFixture : IDisposable
{
    public TlsFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), "actormta-tls-" + Guid.NewGuid().ToString("N")[..12]);
        Authority = TestCertificates.CreateAuthority();
        using var server = Authority.IssueServer([Support.TestMta.Hostname], [IPAddress.Loopback]);
        (CertificatePath, KeyPath) = Authority.WritePem(server, Folder);
    }

    public TestCertificates Authority { get; }
    public string Folder { get; }
    public string CertificatePath { get; }
    public string KeyPath { get; }

    /// <summary>STARTTLS offered to everyone with the fixture's certificate, on one listener of <paramref name="kind"/>.</summary>
    public Func<MtaSettings, MtaSettings> Settings(ListenerKind kind = ListenerKind.Smtp, Func<MtaSettings, MtaSettings>? more = null) => s =>
    {
        var adjusted = s with
        {
            Listeners = [new ListenerSettings(new IPEndPoint(IPAddress.Loopback, 0), kind)],
            Tls = TlsSettings.Disabled with
            {
                CertificatePath = CertificatePath,
                PrivateKeyPath = KeyPath,
                AdvertiseHosts = HostList.Parse(["*"]),
            },
        };
        return more is null ? adjusted : more(adjusted);
    };

    public void Dispose()
    {
        Authority.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
