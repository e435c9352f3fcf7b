using System.Net;
using ActorMta.Configuration;
using ActorMta.Queue;
using Xunit;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary>actormta.metrics, smtp.tcp-fastopen, the routing DNS knobs, and the EHLO name rule for early pipelining.</summary>
public sealed class NewSettingsTests : IDisposable
{
    private readonly ConfigFolder _files = new();

    public void Dispose() => _files.Dispose();

    private string WriteFile(string text) => _files.Write(text);

    [Fact]
    public void MetricsAreOffOnLoopbackByDefault()
    {
        MtaSettings s = SettingsLoader.Load(null, []).Settings;

        Assert.False(s.Metrics.Enabled);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9464), s.Metrics.Address);
        Assert.Equal(10, s.Metrics.TopDestinations);
        Assert.Equal(MetricsSettings.Default, s.Metrics);
    }

    [Fact]
    public void MetricsAreLoaded()
    {
        string file = WriteFile("actormta.metrics { enabled = on, address = \"[::]:0\", top-destinations = 0 }\n");

        MetricsSettings m = SettingsLoader.Load(file, []).Settings.Metrics;

        Assert.True(m.Enabled);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Any, 0), m.Address);
        Assert.Equal(0, m.TopDestinations);
    }

    [Theory]
    [InlineData(null, 256)]
    [InlineData("0", 0)]
    [InlineData("1024", 1024)]
    public void TcpFastOpenQueueIsLoaded(string? value, int expected)
    {
        string[] sets = value is null ? [] : [$"actormta.smtp.tcp-fastopen={value}"];
        Assert.Equal(expected, SettingsLoader.Load(null, sets).Settings.Smtp.TcpFastOpenQueue);
    }

    [Fact]
    public void RoutingDnsKnobsAreLoaded()
    {
        var defaults = SettingsLoader.Load(null, []).Settings.Routing;
        Assert.Null(defaults.UseIPv6);
        Assert.Equal(TimeSpan.FromSeconds(5), defaults.MinCacheTtl);
        Assert.Equal(TimeSpan.FromDays(1), defaults.MaxCacheTtl);
        Assert.Equal(TimeSpan.FromMinutes(5), defaults.DefaultNegativeTtl);
        Assert.Equal(8, defaults.MaxCnameDepth);
        Assert.Equal(10_000, defaults.MaxCacheEntries);

        var r = SettingsLoader.Load(null,
        [
            "actormta.routing { use-ipv6 = off, dns-cache-min-ttl = 1s, dns-cache-max-ttl = 1h, dns-negative-ttl = 30s, dns-max-cnames = 3, dns-cache-size = 50 }",
        ]).Settings.Routing;
        Assert.False(r.UseIPv6);
        Assert.Equal(TimeSpan.FromSeconds(1), r.MinCacheTtl);
        Assert.Equal(TimeSpan.FromHours(1), r.MaxCacheTtl);
        Assert.Equal(TimeSpan.FromSeconds(30), r.DefaultNegativeTtl);
        Assert.Equal(3, r.MaxCnameDepth);
        Assert.Equal(50, r.MaxCacheEntries);
        Assert.True(SettingsLoader.Load(null, ["actormta.routing.use-ipv6=on"]).Settings.Routing.UseIPv6);
    }

    [Fact]
    public void TheRetryScheduleIsEximsByDefault()
    {
        var q = SettingsLoader.Load(null, []).Settings.Queue;

        Assert.Equal(RetrySchedule.EximDefault, q.Tuning.RetryRules);
        Assert.Equal(new[] { "F,2h,15m", "G,16h,1h,1.5", "F,4d,6h" }, q.Tuning.RetryRules.Select(r => r.ToString()).ToArray());
        Assert.Equal(1000, q.Tuning.ParallelAttempts);
        Assert.Equal(TimeSpan.FromDays(4), q.MaxRetryTime);
    }

    [Fact]
    public void RetryRulesAndParallelAttemptsAreLoaded()
    {
        string file = WriteFile("actormta.queue {\n  retry = [\"F,1h30m,10m\", \"G, 1d, 1h, 2\"]\n  parallel-attempts = 8\n}\n");

        var tuning = SettingsLoader.Load(file, []).Settings.Queue.Tuning;

        Assert.Equal(
            new[] { new RetryRule(RetryRuleKind.Fixed, TimeSpan.FromMinutes(90), TimeSpan.FromMinutes(10)), new RetryRule(RetryRuleKind.Geometric, TimeSpan.FromDays(1), TimeSpan.FromHours(1), 2) },
            tuning.RetryRules);
        Assert.Equal(8, tuning.ParallelAttempts);
    }

    [Theory]
    [InlineData("retry = [F,2h,15m]", "retry rule 1 \"F\"")]                          // unquoted: HOCON splits at the commas
    [InlineData("retry = [\"F,4d,6h\", \"F,2h,15m\"]", "retry rule 2 \"F,2h,15m\": cutoff 2h is not after")]
    [InlineData("retry = [\"F,2h,15 minutes\"]", "interval \"15 minutes\" is not a duration")]
    [InlineData("retry = [\"G,16h,1h,0.5\"]", "factor \"0.5\" must be a number of at least 1")]
    [InlineData("retry = [\"X,1h,1m\"]", "must start with F")]
    [InlineData("retry = []", "needs at least one rule")]
    [InlineData("retry = \"F,2h,15m\"", "expected a list of strings")]
    [InlineData("parallel-attempts = 0", "expected a positive integer")]
    public void BadRetryRulesNameFileLineAndKey(string line, string why)
    {
        string file = WriteFile($"actormta {{\n  queue {{\n    {line}\n  }}\n}}\n");

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:3", error.Location);
        Assert.StartsWith("actormta.queue.", error.Path, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    // Spec Part A rule 9: the EHLO name must not depend on the local address while early pipelining
    // may be used (the early flight is written before the connection exists).
    [Theory]
    [InlineData("$sending_ip_address", "\"$sending_ip_address\"")]
    [InlineData("${sending_ip_address}", "\"${sending_ip_address}\"")]
    [InlineData("[$sending_ip_address]", "\"$sending_ip_address\"")]
    [InlineData("$interface_address", "\"$interface_address\"")]
    [InlineData("${lookup dnsdb{ptr=$sending_ip_address}{$value}fail}", "\"$sending_ip_address\"")]
    [InlineData("${if def:interface_address{x}{y}}", "\"${if ...}\"")]
    [InlineData("${lookup{x}lsearch{/etc/helo}}", "\"${lookup ...}\"")]
    [InlineData("mx-$primary_hostname", "\"$primary_hostname\"")]
    public void AnExpansionInHeloNameIsRefusedWithEarlyPipelining(string helo, string quoted)
    {
        string file = WriteFile($"actormta {{\n  outbound {{\n    hosts-pipe-connect = [\"*\"]\n    helo-name = \"{helo}\"\n  }}\n}}\n");

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:4", error.Location);
        Assert.Equal("actormta.outbound.helo-name", error.Path);
        Assert.Contains($"contains {quoted}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"actormta.outbound.hosts-pipe-connect = [\"*\"] at {file}:3", error.Message, StringComparison.Ordinal);
        Assert.Contains("must not depend on it", error.Message, StringComparison.Ordinal);
        Assert.Contains("use a fixed name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRuleHoldsWhicheverLayerSetsWhat()
    {
        // helo-name in the file, hosts-pipe-connect on the command line: the error is at the file's line.
        string file = WriteFile("actormta.outbound.helo-name = \"${sending_ip_address}\"\n");

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, ["actormta.outbound.hosts-pipe-connect=[\"192.0.2.0/24\"]"]));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:1", error.Location);
        Assert.Contains("at --set actormta.outbound.hosts-pipe-connect=", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[\"!*\"]")]
    public void WithoutEarlyPipeliningAnExpansionIsStillRefusedAsUnexpanded(string hostsPipeConnect)
    {
        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(null,
            [$"actormta.outbound.hosts-pipe-connect={hostsPipeConnect}", "actormta.outbound.helo-name=\"$sending_ip_address\""]));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal("actormta.outbound.helo-name", error.Path);
        Assert.Contains("does not expand", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hosts-pipe-connect", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APrimaryHostnameUsedAsHeloNameIsCheckedToo()
    {
        string file = WriteFile("actormta {\n  primary-hostname = \"$sending_ip_address\"\n  outbound.hosts-pipe-connect = [\"*\"]\n}\n");

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:2", error.Location);
        Assert.Equal("actormta.primary-hostname", error.Path);
    }

    [Theory]
    [InlineData("mx1.example.com")]
    [InlineData("[192.0.2.1]")]
    [InlineData("[IPv6:2001:db8::1]")]
    [InlineData("relay_1.example.net")]
    public void AFixedHeloNameIsFineWithEarlyPipelining(string helo)
    {
        var s = SettingsLoader.Load(null, ["actormta.outbound.hosts-pipe-connect=[\"*\"]", $"actormta.outbound.helo-name=\"{helo}\""]).Settings;

        Assert.Equal(helo, s.Outbound.HeloName);
        Assert.True(s.Outbound.HostsPipeConnect.Matches(IPAddress.Parse("192.0.2.9")));
    }

    [Fact]
    public void OutboundInterfaceTakesOneAddressOfEachFamilyAndPicksByTheDestinations()
    {
        // IPv4 only: the loader binds each address to check it, and a test machine may have no IPv6.
        var outbound = SettingsLoader.Load(WriteFile("actormta.outbound.interface = [\"127.0.0.2\"]\n"), []).Settings.Outbound;

        Assert.Equal(IPAddress.Parse("127.0.0.2"), outbound.InterfaceFor(IPAddress.Parse("192.0.2.9")));
        Assert.Null(outbound.InterfaceFor(IPAddress.Parse("2001:db8::9")));
        Assert.Null(SettingsLoader.Load(null, []).Settings.Outbound.InterfaceFor(IPAddress.Parse("192.0.2.9")));
    }

    [Theory]
    [InlineData("[\"192.0.2.1\"]", "cannot send from 192.0.2.1: it is not an address of this machine")]
    [InlineData("[\"127.0.0.1\", \"127.0.0.2\"]", "127.0.0.1 and 127.0.0.2 are both IPv4: give at most one address of each family")]
    [InlineData("[\"mx.example.com\"]", "not an IP address: \"mx.example.com\"")]
    public void OutboundInterfaceMistakesNameFileLineAndKey(string value, string why)
    {
        string file = WriteFile($"actormta {{\n  outbound.interface = {value}\n}}\n");

        var error = Assert.Single(Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, [])).Errors);

        Assert.Equal(($"{file}:2", "actormta.outbound.interface"), (error.Location, error.Path));
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeloNameDefaultsToThePrimaryHostname()
    {
        var s = SettingsLoader.Load(null, ["actormta.primary-hostname=mx.example.org", "actormta.outbound.hosts-pipe-connect=[\"*\"]"]);

        Assert.Equal("mx.example.org", s.Settings.Outbound.HeloName);
        Assert.Contains("helo-name = \"\"  # effective: mx.example.org", s.EffectiveHocon, StringComparison.Ordinal);
    }
}
