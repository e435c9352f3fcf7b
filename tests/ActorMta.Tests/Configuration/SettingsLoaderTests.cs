using System.Diagnostics;
using System.Net;
using ActorMta.Configuration;
using Xunit;

namespace ActorMta.Tests.ConfigurationLoading;

public sealed class SettingsLoaderTests : IDisposable
{
    private readonly ConfigFolder _files = new();

    public void Dispose() => _files.Dispose();

    private string WriteFile(string text, string name = "test.conf") => _files.Write(text, name);

    private static ConfigurationException Fails(string? file, params string[] sets) =>
        Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, sets));

    [Fact]
    public void DefaultsLoadWithNoFile()
    {
        var loaded = SettingsLoader.Load(null, []);
        MtaSettings s = loaded.Settings;

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 2525), Assert.Single(s.Listeners).EndPoint);
        Assert.Equal(Path.GetFullPath("./data"), s.DataDirectory);
        Assert.Equal(Path.Combine(s.DataDirectory, "spool"), s.Spool.Directory);
        Assert.True(s.Spool.Fsync);
        Assert.Equal(Path.Combine(s.DataDirectory, "maildir"), s.LocalDelivery.MaildirRoot);
        Assert.Equal(Path.Combine(s.DataDirectory, "log", "mainlog"), s.Log.MainLogPath);
        Assert.Null(s.Log.JsonLogPath);
        Assert.True(s.Log.Console);
        Assert.True(s.Log.LogPipelining);
        Assert.Equal(Dns.GetHostName(), s.PrimaryHostname);

        Assert.Equal("$primary_hostname ESMTP ActorMta", s.Smtp.Banner);
        Assert.Equal(50L * 1024 * 1024, s.Smtp.MaxMessageSize);
        Assert.Equal(1000, s.Smtp.MaxRecipients);
        Assert.Equal(1000, s.Smtp.MaxTextLineLength);
        Assert.Equal(2048, s.Smtp.MaxCommandLineLength);
        Assert.Equal(10, s.Smtp.MaxBadCommands);
        Assert.Equal(TimeSpan.FromMinutes(5), s.Smtp.IdleTimeout);
        Assert.Equal(BareLineEndingPolicy.Reject, s.Smtp.BareLineEndings);
        Assert.Equal(new[] { "PIPECONNECT" }, s.Smtp.PipeConnectKeywords);
        Assert.True(s.Smtp.PipeliningConnectAdvertiseHosts.Matches(IPAddress.Parse("192.0.2.7")));

        Assert.True(s.Policy.LocalDomains.Contains("localhost"));
        Assert.True(s.Policy.LocalDomains.Contains(s.PrimaryHostname));
        Assert.False(s.Policy.RelayToDomains.Contains("example.com"));
        Assert.True(s.Policy.RelayFromHosts.Matches(IPAddress.Loopback));
        Assert.True(s.Policy.RelayFromHosts.Matches(IPAddress.IPv6Loopback));
        Assert.False(s.Policy.RelayFromHosts.Matches(IPAddress.Parse("192.0.2.1")));
        Assert.Empty(s.Policy.LocalUsers);

        Assert.Equal(TimeSpan.FromMinutes(15), s.Queue.RetryInterval);
        Assert.Equal(TimeSpan.FromDays(4), s.Queue.MaxRetryTime);
        Assert.Equal(100, s.Queue.LocalDeliveryParallelism);

        Assert.Equal(s.PrimaryHostname, s.Outbound.HeloName);
        Assert.Equal(25, s.Outbound.Port);
        Assert.False(s.Outbound.HostsPipeConnect.Matches(IPAddress.Loopback));
    }

    [Fact]
    public void SetOverridesFileAndFileOverridesDefaults()
    {
        string file = WriteFile("""
            actormta {
              smtp.max-recipients = 50
              smtp.max-bad-commands = 3
              queue { retry-interval = 30s }
            }
            """);

        var s = SettingsLoader.Load(file, ["actormta.smtp.max-recipients=60", "actormta.smtp.max-recipients=70"]).Settings;

        Assert.Equal(70, s.Smtp.MaxRecipients);       // the last --set wins
        Assert.Equal(3, s.Smtp.MaxBadCommands);       // from the file
        Assert.Equal(TimeSpan.FromSeconds(30), s.Queue.RetryInterval);
        Assert.Equal(1000, s.Smtp.MaxMessagesPerConnection); // default
    }

    [Fact]
    public void SetTakesAnyHoconValue()
    {
        var s = SettingsLoader.Load(null,
        [
            "actormta.listen=[\"127.0.0.1:0\", \"[::1]:2526\"]",
            "actormta.smtp.banner=\"mx ready\"",
            "actormta.smtp { max-recipients = 5, bare-line-endings = normalize }",
            "actormta.log.json-log=/tmp/actormta.json",
        ]).Settings;

        Assert.Equal(new[] { new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.IPv6Loopback, 2526) },
            s.Listeners.Select(l => l.EndPoint).ToArray());
        Assert.Equal("mx ready", s.Smtp.Banner);
        Assert.Equal(BareLineEndingPolicy.Normalize, s.Smtp.BareLineEndings);
        Assert.Equal("/tmp/actormta.json", s.Log.JsonLogPath);
    }

    [Theory]
    [InlineData("50M", 52428800L)]
    [InlineData("52428800", 52428800L)]
    [InlineData("50MiB", 52428800L)]
    [InlineData("50 MiB", 52428800L)]
    [InlineData("100K", 102400L)]
    [InlineData("1kB", 1000L)]
    [InlineData("2G", 2147483648L)]
    public void SizesAcceptHoconAndEximUnits(string text, long bytes)
    {
        var s = SettingsLoader.Load(null, [$"actormta.smtp.max-message-size={text}"]).Settings;
        Assert.Equal(bytes, s.Smtp.MaxMessageSize);
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2 hours", 7_200_000)]
    [InlineData("4d", 345_600_000)]
    public void DurationsNeedAUnit(string text, long milliseconds)
    {
        var s = SettingsLoader.Load(null, [$"actormta.smtp.idle-timeout={text}"]).Settings;
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), s.Smtp.IdleTimeout);
    }

    [Fact]
    public void RoutingDestinationsAndPersistenceAreLoaded()
    {
        string file = WriteFile("""
            actormta {
              routing {
                smarthosts = [
                  { name = "office", domains = ["example.net", "*.example.net"], hosts = ["10.0.0.5:2525", "[2001:db8::1]"] }
                ]
                dns-servers = ["192.0.2.53", "[::1]:5353"]
                dns-timeout = 2s
                local-addresses = ["192.0.2.10"]
              }
              destinations { max-connections = 3, retry-data-expire = 1d }
              persistence { connection-string = "Host=db;Database=mta", provider-name = "PostgreSQL.15" }
            }
            """);

        var s = SettingsLoader.Load(file, []).Settings;

        var route = Assert.Single(s.Routing.Smarthosts);
        Assert.Equal("office", route.Name);
        Assert.True(route.Domains.Contains("mail.example.net"));
        Assert.Equal(new[] { "10.0.0.5:2525", "[2001:db8::1]" }, route.Hosts);
        Assert.Equal(new[] { new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53), new IPEndPoint(IPAddress.IPv6Loopback, 5353) }, s.Routing.DnsServers);
        Assert.Equal(TimeSpan.FromSeconds(2), s.Routing.DnsTimeout);
        Assert.Equal(new[] { IPAddress.Parse("192.0.2.10") }, s.Routing.LocalAddresses);
        Assert.True(s.Routing.LocalDomains.Contains("localhost"));
        Assert.Equal(3, s.Destinations.MaxConnections);
        Assert.Equal(TimeSpan.FromDays(1), s.Destinations.RetryDataExpire);
        Assert.Equal(TimeSpan.FromMinutes(5), s.Destinations.PassivateAfter);
        Assert.Equal("PostgreSQL.15", s.Persistence.ProviderName);
        Assert.Equal("Host=db;Database=mta", s.Persistence.ConnectionString);
    }

    [Fact]
    public void BadSmarthostsAreReported()
    {
        string file = WriteFile("actormta.routing.smarthosts = [ { domains = [\"example.net\"], hosts = [] }, { domain = [\"x\"], hosts = [\"h\"] } ]\n");

        var e = Fails(file);

        Assert.All(e.Errors, x => Assert.Equal($"{file}:1", x.Location));
        Assert.Contains(e.Errors, x => x.Message.Contains("[0]: \"hosts\" must be a non-empty list", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Message.Contains("[1]: unknown key \"domain\"", StringComparison.Ordinal));
    }

    [Fact]
    public void AtInDomainListsIsThePrimaryHostname()
    {
        var s = SettingsLoader.Load(null, ["actormta.primary-hostname=mx.example.org", "actormta.policy.relay-to-domains=[\"!@\", \"*\"]"]).Settings;
        Assert.True(s.Policy.LocalDomains.Contains("mx.example.org"));
        Assert.False(s.Policy.RelayToDomains.Contains("mx.example.org"));
        Assert.True(s.Policy.RelayToDomains.Contains("other.example"));
        Assert.Equal("mx.example.org", s.Outbound.HeloName);
    }

    [Fact]
    public void RelativePathsResolveAgainstTheCurrentDirectory()
    {
        var s = SettingsLoader.Load(null, ["actormta.data-directory=\"var/mta\"", "actormta.log.main-log=off", "actormta.spool.directory=/srv/spool"]).Settings;
        Assert.Equal(Path.GetFullPath("var/mta"), s.DataDirectory);
        Assert.Equal(Path.Combine(Path.GetFullPath("var/mta"), "maildir"), s.LocalDelivery.MaildirRoot);
        Assert.Equal("/srv/spool", s.Spool.Directory);
        Assert.Null(s.Log.MainLogPath);
    }

    [Fact]
    public void AkkaSectionComesFromTheSameSources()
    {
        string file = WriteFile("akka.loglevel = DEBUG\nactormta.smtp.max-recipients = 7\n");
        var loaded = SettingsLoader.Load(file, ["akka.actor.ask-timeout=7s"]);

        Assert.Equal("DEBUG", loaded.AkkaConfig.GetString("akka.loglevel"));
        Assert.Equal(TimeSpan.FromSeconds(7), loaded.AkkaConfig.GetTimeSpan("akka.actor.ask-timeout"));
        Assert.Contains(loaded.AkkaConfig.GetStringList("akka.loggers"), l => l.StartsWith("ActorMta.Logging.AkkaSerilogLogger, ", StringComparison.Ordinal));
        Assert.Equal(7, loaded.AkkaConfig.GetInt("actormta.smtp.max-recipients"));
    }

    // Each class of error: the file name, the line of the key, the full key path, and why.
    [Theory]
    [InlineData("smtp.max-recipients = abc", "actormta.smtp.max-recipients", "expected a positive integer, got \"abc\"")]
    [InlineData("smtp.max-recipients = 0", "actormta.smtp.max-recipients", "expected a positive integer, got \"0\"")]
    [InlineData("smtp.max-connections = -3", "actormta.smtp.max-connections", "expected a positive integer, got \"-3\"")]
    [InlineData("smtp.max-message-size = 50 elephants", "actormta.smtp.max-message-size", "expected a positive size")]
    [InlineData("smtp.max-message-size = 0", "actormta.smtp.max-message-size", "expected a positive size")]
    [InlineData("smtp.idle-timeout = 300", "actormta.smtp.idle-timeout", "expected a positive duration with a unit")]
    [InlineData("smtp.data-timeout = soon", "actormta.smtp.data-timeout", "got \"soon\"")]
    [InlineData("smtp.bare-line-endings = maybe", "actormta.smtp.bare-line-endings", "expected reject or normalize, got \"maybe\"")]
    [InlineData("scheduling-policy = fast", "actormta.scheduling-policy", "expected batch or normal or inherit, got \"fast\"")]
    [InlineData("spool.fsync = sometimes", "actormta.spool.fsync", "expected on or off")]
    [InlineData("listen = [\"localhost:25\"]", "actormta.listen", "expected \"ip:port\"")]
    [InlineData("listen = [\"::1:25\"]", "actormta.listen", "expected \"ip:port\"")]
    [InlineData("listen = [\"127.0.0.1:70000\"]", "actormta.listen", "expected \"ip:port\"")]
    [InlineData("listen = []", "actormta.listen", "at least one address")]
    [InlineData("policy.relay-from-hosts = [\"300.1.2.3/8\"]", "actormta.policy.relay-from-hosts", "300.1.2.3/8")]
    [InlineData("policy.relay-from-hosts = \"127.0.0.1\"", "actormta.policy.relay-from-hosts", "expected a list of strings")]
    [InlineData("smtp.banner = [a, b]", "actormta.smtp.banner", "got a list")]
    [InlineData("smtp.pipe-connect-keywords = [\"PIPE CONNECT\"]", "actormta.smtp.pipe-connect-keywords", "not an EHLO keyword")]
    [InlineData("smtp.max-recipents = 5", "actormta.smtp.max-recipents", "unknown key (did you mean \"max-recipients\"?)")]
    [InlineData("smtp = 5", "actormta.smtp", "expected a section")]
    [InlineData("outbound.port = 0", "actormta.outbound.port", "expected a TCP port")]
    [InlineData("outbound.backlog-per-connection = 0", "actormta.outbound.backlog-per-connection", "expected a positive integer, got \"0\"")]
    [InlineData("smtp.tcp-fastopen = -1", "actormta.smtp.tcp-fastopen", "expected a whole number (0 or more), got \"-1\"")]
    [InlineData("metrics.enabled = maybe", "actormta.metrics.enabled", "expected on or off")]
    [InlineData("metrics.address = \"localhost:9464\"", "actormta.metrics.address", "expected \"ip:port\"")]
    [InlineData("metrics.address = \"127.0.0.1\"", "actormta.metrics.address", "expected \"ip:port\"")]
    [InlineData("metrics.address = \"[::1]:9464\"", "actormta.metrics.address", "HttpListener cannot listen on the IPv6 address ::1; use an IPv4 address, or \"[::]:9464\" for every address")]
    [InlineData("metrics.top-destinations = 500", "actormta.metrics.top-destinations", "must be at most 199, got 500")]
    [InlineData("routing.use-ipv6 = sometimes", "actormta.routing.use-ipv6", "expected auto or on or off")]
    [InlineData("routing.dns-cache-min-ttl = 2d", "actormta.routing.dns-cache-min-ttl", "is longer than actormta.routing.dns-cache-max-ttl")]
    [InlineData("routing.dns-cache-max-ttl = soon", "actormta.routing.dns-cache-max-ttl", "expected a positive duration")] // one error, not also "min is longer" against a placeholder
    [InlineData("outbound.helo-name = \"mail server\"", "actormta.outbound.helo-name", "is not a host name")]
    [InlineData("primary-hostname = \"mail server\"", "actormta.primary-hostname", "is not a host name")]
    [InlineData("primary-hostname = \"[192.0.2.1]\"", "actormta.primary-hostname", "is not a host name")]
    [InlineData("persistence.provider-name = \"SqlServer\"", "actormta.persistence.provider-name", "\"SqlServer\" is not a provider ActorMta ships; one of: PostgreSQL.11, PostgreSQL.12, ")]
    [InlineData("primary-hostname = \"1.5\"", "actormta.primary-hostname", "\"1.5\" is not a host name: its last label is all digits")]
    [InlineData("outbound.helo-name = \"192.0.2.1\"", "actormta.outbound.helo-name", "its last label is all digits (an address goes in brackets, such as \"[192.0.2.1]\")")]
    public void EachErrorNamesFileLineAndKey(string line, string key, string why)
    {
        string file = WriteFile($"# test\nactormta {{\n  {line}\n}}\n");

        var e = Fails(file);

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:3", error.Location);
        Assert.Equal(key, error.Path);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{file}:3: {key}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_data_directory_too_long_for_the_control_socket_in_it_is_the_error_unless_the_socket_is_elsewhere_or_off()
    {
        // The socket's default home is the data directory; sun_path holds 107 bytes.
        string deep = Path.Combine(_files.Path, new string('d', 120));
        string file = WriteFile($"actormta {{\n  data-directory = \"{deep}\"\n}}\n");

        var error = Assert.Single(Fails(file).Errors);

        Assert.Equal($"{file}:2", error.Location);
        Assert.Equal("actormta.data-directory", error.Path);
        Assert.Contains($"the control socket in it, \"{deep}/actormta.control.socket\", is longer than the 107 bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(_files.Path, "c.sock"), SettingsLoader.Load(file, [$"actormta.control.socket={_files.Path}/c.sock"]).Settings.Control.SocketPath);
        Assert.False(SettingsLoader.Load(file, ["actormta.control.enabled=off"]).Settings.Control.Enabled);
        var elsewhere = Assert.Single(Fails(null, [$"actormta.control.socket={deep}/c.sock"]).Errors);
        Assert.Equal("actormta.control.socket", elsewhere.Path);
        Assert.Contains("choose a shorter path", elsewhere.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_given_as_the_configuration_file_is_called_a_directory()
        => Assert.Equal($"{_files.Path}: cannot read the configuration file: it is a directory", Assert.Single(Fails(_files.Path).Errors).ToString());

    [Fact]
    public void An_include_is_read_where_it_stands_relative_to_its_file_and_its_values_say_where_they_came_from()
    {
        Directory.CreateDirectory(Path.Combine(_files.Path, "conf.d"));
        string limits = WriteFile("# limits\nactormta.smtp.max-recipients = 7\n", "conf.d/limits.conf");
        string smtp = WriteFile("max-messages-per-connection = 9\n", "conf.d/smtp.conf");
        WriteFile("include \"limits.conf\"\n", "conf.d/all.conf");
        string file = WriteFile(
            "actormta.smtp.max-recipients = 5\n" +
            "include \"conf.d/all.conf\"   # later wins, as in HOCON\n" +
            "actormta {\n  smtp {\n    include file(\"conf.d/smtp.conf\")\n  }\n}\n" +
            "include \"conf.d/optional-and-missing.conf\"\n" +
            "actormta.smtp.max-bad-commands = 3\n");

        var loaded = SettingsLoader.Load(file, []);

        Assert.Equal(7, loaded.Settings.Smtp.MaxRecipients);
        Assert.Equal(9, loaded.Settings.Smtp.MaxMessagesPerConnection);
        Assert.Equal(3, loaded.Settings.Smtp.MaxBadCommands);
        Assert.Contains($"max-recipients = 7  # from {limits}:2", loaded.EffectiveHocon, StringComparison.Ordinal);
        Assert.Contains($"max-messages-per-connection = 9  # from {smtp}:1", loaded.EffectiveHocon, StringComparison.Ordinal);
        Assert.Contains($"max-bad-commands = 3  # from {file}:9", loaded.EffectiveHocon, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_in_and_after_an_included_file_name_the_file_and_line_they_are_in()
    {
        string part = WriteFile("# part\nactormta.smtp.max-recipients = lots\n", "part.conf");
        string file = WriteFile("# main\ninclude required(\"part.conf\")\nactormta.smtp.max-bad-commands = none\n");

        var errors = Fails(file).Errors.Select(e => e.ToString()).ToArray();

        Assert.Equal(
            [
                $"{part}:2: actormta.smtp.max-recipients: expected a positive integer, got \"lots\"",
                $"{file}:3: actormta.smtp.max-bad-commands: expected a positive integer, got \"none\"",
            ],
            errors);
    }

    [Theory]
    [InlineData("include required(\"missing.conf\")", "include \"missing.conf\": cannot read ")]
    [InlineData("include \"test.conf\"", "include \"test.conf\": ")]
    [InlineData("include url(\"http://example.com/a.conf\")", "this include is not supported: use include \"file\"")]
    [InlineData("include classpath(\"a.conf\")", "this include is not supported")]
    public void A_required_include_that_is_missing_a_cycle_and_the_unsupported_forms_are_errors_at_their_line(string directive, string message)
    {
        string file = WriteFile($"# main\n{directive}\n");

        var error = Assert.Single(Fails(file).Errors);

        Assert.Equal($"{file}:2", error.Location);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LineIsFoundForNestedAndDottedKeys()
    {
        string file = WriteFile("""
            actormta {
              smtp {
                banner = "x"

                max-recipients = lots
              }
            }
            actormta.queue.local-delivery-parallelism = none
            """);

        var e = Fails(file);

        Assert.Equal(
            new[]
            {
                $"{file}:5: actormta.smtp.max-recipients: expected a positive integer, got \"lots\"",
                $"{file}:8: actormta.queue.local-delivery-parallelism: expected a positive integer, got \"none\"",
            },
            e.Errors.Select(x => x.ToString()).ToArray());
    }

    [Fact]
    public void AllErrorsAreReportedTogetherInFileOrder()
    {
        string file = WriteFile("""
            actormta {
              smtp {
                max-recipients = abc
                idle-timeout = 1 fortnight
              }
              spool { fsync = perhaps }
              polcy { }
            }
            """);

        var e = Fails(file, "actormta.queue.retry-interval=-5m");

        Assert.Equal(5, e.Errors.Count);
        Assert.Equal(new[] { $"{file}:3", $"{file}:4", $"{file}:6", $"{file}:7", "--set actormta.queue.retry-interval=-5m" },
            e.Errors.Select(x => x.Location).ToArray());
        Assert.Equal("actormta.polcy", e.Errors[3].Path);
        Assert.Contains("did you mean \"policy\"", e.Errors[3].Message, StringComparison.Ordinal);
        Assert.Equal(5, e.Message.Split(Environment.NewLine).Length);
    }

    [Fact]
    public void SetErrorsAreNamedByTheSetItem()
    {
        var e = Fails(null, "actormta.smtp.max-recipients=abc", "actormta.smtp.max-bad-commands");

        Assert.Equal(
            new[]
            {
                "--set actormta.smtp.max-recipients=abc: actormta.smtp.max-recipients: expected a positive integer, got \"abc\"",
                "--set actormta.smtp.max-bad-commands: expected path=value, e.g. --set actormta.smtp.max-recipients=500",
            },
            e.Errors.Select(x => x.ToString()).ToArray());
    }

    [Fact]
    public void UnknownKeysAreErrorsAtEveryLevel()
    {
        string file = WriteFile("actormta {\n  primary-host-name = \"mx\"\n  queue { retries = 3 }\n}\nactormat.listen = []\n");

        var e = Fails(file);

        Assert.Equal(
            new (string, string?)[]
            {
                ($"{file}:2", "actormta.primary-host-name"),
                ($"{file}:3", "actormta.queue.retries"),
                ($"{file}:5", "actormat"),
            },
            e.Errors.Select(x => (x.Location, x.Path)).ToArray());
        Assert.All(e.Errors, x => Assert.Contains("unknown", x.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("actormta {\n  smtp {\n    banner = \"unterminated\n  }\n}\n", 3, "unterminated string")]
    [InlineData("actormta {\n  smtp {\n    max-recipients =\n  }\n}\n", 3, "has no value")]
    [InlineData("actormta {\n  smtp {\n    max-recipients = 5\n}\n", 1, "never closed")]
    [InlineData("actormta {\n  listen = [\"127.0.0.1:25\"\n}\n", 3, "closed by '}' instead of ']'")]
    [InlineData("actormta {\n  smtp max-recipients 5\n}\n", 2, "expected '=', ':' or '{' after key")]
    [InlineData("actormta {\n  a = 1 = 2\n}\n", 2, "unexpected '='")]
    [InlineData("actormta {}\n}\n", 2, "unexpected '}'")]
    [InlineData("actormta.x = ${nowhere}\n", 1, "nowhere")]
    [InlineData("actormta {\n  smtp { max-recipients = 5 },\n  policy { }\n}\n", 2, "HOCON: ")]
    public void SyntaxErrorsGiveFileAndLine(string text, int line, string why)
    {
        string file = WriteFile(text);
        var watch = Stopwatch.StartNew();

        var e = Fails(file);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), "a syntax error must not hang the parser");
        ConfigurationError error = e.Errors[0];
        Assert.Equal($"{file}:{line}", error.Location);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFileIsOneClearError()
    {
        string missing = Path.Combine(_files.Path, "nope.conf");
        var e = Fails(missing);
        Assert.Equal(missing, Assert.Single(e.Errors).Location);
        Assert.Contains("cannot read the configuration file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommentsAndEmptyFilesAreFine()
    {
        string file = WriteFile("# nothing here\n// nor here\n\n");
        Assert.Equal(1000, SettingsLoader.Load(file, []).Settings.Smtp.MaxRecipients);
    }

    [Fact]
    public void EffectiveHoconLoadsBackToTheSameSettings()
    {
        string file = WriteFile("actormta { smtp { max-recipients = 12, banner = \"a \\\"quoted\\\" banner\" }\n policy.local-users = [alice, bob] }\n");
        var first = SettingsLoader.Load(file, ["actormta.listen=[\"[::1]:2600\"]"]);

        Assert.Contains($"max-recipients = 12  # from {file}:1", first.EffectiveHocon, StringComparison.Ordinal);
        Assert.Contains("listen = [\"[::1]:2600\"]  # from --set", first.EffectiveHocon, StringComparison.Ordinal);

        var again = SettingsLoader.Load(WriteFile(first.EffectiveHocon, "effective.conf"), []).Settings;
        Assert.Equal(12, again.Smtp.MaxRecipients);
        Assert.Equal("a \"quoted\" banner", again.Smtp.Banner);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 2600), again.Listeners[0].EndPoint);
        Assert.True(again.Policy.LocalUsers.SetEquals(["alice", "bob"]));
        Assert.Equal(first.Settings.Smtp.MaxMessageSize, again.Smtp.MaxMessageSize);
    }

    [Fact]
    public void ReferenceConfDocumentsEveryKey()
    {
        // Each key line in reference.conf is preceded by a comment line (or by another commented key).
        string[] lines = SettingsLoader.ReferenceText().Split('\n').Select(l => l.Trim()).ToArray();
        int inActormta = Array.IndexOf(lines, "actormta {");
        for (int i = inActormta + 1; i < lines.Length && lines[i] != "akka {"; i++)
        {
            if (lines[i].Contains('=', StringComparison.Ordinal) && !lines[i].StartsWith('#'))
            {
                Assert.True(lines[i - 1].StartsWith('#'), $"reference.conf line {i + 1} has no comment: {lines[i]}");
            }
        }
    }
}
