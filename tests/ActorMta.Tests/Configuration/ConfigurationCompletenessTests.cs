using System.Reflection;
using System.Runtime.CompilerServices;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Queue;
using ActorMta.Routing;
using Akka.Configuration.Hocon;
using Xunit;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary>
/// The README's rule for options: every setting has a key in reference.conf and in the example
/// hocon/actormta.conf (with a comment), and the example file passes <c>config check</c>.
/// </summary>
public sealed class ConfigurationCompletenessTests
{
    /// <summary>Every settable property of the settings records and the key it comes from (null: derived, no key of its own).</summary>
    private static readonly Dictionary<string, string?> KeyOf = new(StringComparer.Ordinal)
    {
        ["MtaSettings.PrimaryHostname"] = "actormta.primary-hostname",
        ["MtaSettings.DataDirectory"] = "actormta.data-directory",
        ["MtaSettings.Smtp"] = "actormta.smtp",
        ["MtaSettings.Listeners"] = "actormta.listen",
        ["MtaSettings.Policy"] = "actormta.policy",
        ["MtaSettings.Spool"] = "actormta.spool",
        ["MtaSettings.LocalDelivery"] = "actormta.local-delivery",
        ["MtaSettings.Queue"] = "actormta.queue",
        ["MtaSettings.Log"] = "actormta.log",
        ["MtaSettings.Outbound"] = "actormta.outbound",
        ["MtaSettings.Routing"] = "actormta.routing",
        ["MtaSettings.Destinations"] = "actormta.destinations",
        ["MtaSettings.Persistence"] = "actormta.persistence",
        ["MtaSettings.Metrics"] = "actormta.metrics",
        ["MtaSettings.Auth"] = "actormta.auth",
        ["AuthSettings.Mechanisms"] = "actormta.auth.mechanisms",
        ["AuthSettings.AdvertiseHosts"] = "actormta.auth.advertise-hosts",
        ["AuthSettings.AllowCleartext"] = "actormta.auth.allow-cleartext",
        ["AuthSettings.UsersFile"] = "actormta.auth.users-file",
        ["AuthSettings.PasswordIterations"] = "actormta.auth.password-iterations",
        ["AuthSettings.MaxFailures"] = "actormta.auth.max-failures",
        ["AuthSettings.FailureWindow"] = "actormta.auth.failure-window",
        ["AuthSettings.FailureDelay"] = "actormta.auth.failure-delay",
        ["AuthSettings.MaxTrackedClients"] = "actormta.auth.max-tracked-clients",
        ["MtaSettings.Control"] = "actormta.control",
        ["MtaSettings.SchedulingPolicy"] = "actormta.scheduling-policy",
        ["ListenerSettings.EndPoint"] = "actormta.listen",
        ["ListenerSettings.Kind"] = "actormta.listen",
        ["SmtpServerSettings.Banner"] = "actormta.smtp.banner",
        ["SmtpServerSettings.PipeliningAdvertiseHosts"] = "actormta.smtp.pipelining-advertise-hosts",
        ["SmtpServerSettings.PipeliningConnectAdvertiseHosts"] = "actormta.smtp.pipelining-connect-advertise-hosts",
        ["SmtpServerSettings.PipeConnectKeywords"] = "actormta.smtp.pipe-connect-keywords",
        ["SmtpServerSettings.ChunkingAdvertiseHosts"] = "actormta.smtp.chunking-advertise-hosts",
        ["SmtpServerSettings.MaxCommandLineLength"] = "actormta.smtp.max-command-line-length",
        ["SmtpServerSettings.MaxTextLineLength"] = "actormta.smtp.max-text-line-length",
        ["SmtpServerSettings.MaxMessageSize"] = "actormta.smtp.max-message-size",
        ["SmtpServerSettings.MaxRecipients"] = "actormta.smtp.max-recipients",
        ["SmtpServerSettings.MaxMessagesPerConnection"] = "actormta.smtp.max-messages-per-connection",
        ["SmtpServerSettings.MaxConnections"] = "actormta.smtp.max-connections",
        ["SmtpServerSettings.MaxConnectionsPerIp"] = "actormta.smtp.max-connections-per-ip",
        ["SmtpServerSettings.MaxBadCommands"] = "actormta.smtp.max-bad-commands",
        ["SmtpServerSettings.MaxReceivedHeaders"] = "actormta.smtp.max-received-headers",
        ["SmtpServerSettings.DrainTimeout"] = "actormta.smtp.drain-timeout",
        ["SmtpServerSettings.IdleTimeout"] = "actormta.smtp.idle-timeout",
        ["SmtpServerSettings.DataTimeout"] = "actormta.smtp.data-timeout",
        ["SmtpServerSettings.BareLineEndings"] = "actormta.smtp.bare-line-endings",
        ["SmtpServerSettings.TcpFastOpenQueue"] = "actormta.smtp.tcp-fastopen",
        ["SmtpServerSettings.MaxDataInMemory"] = "actormta.smtp.max-data-in-memory",
        ["PolicySettings.LocalDomains"] = "actormta.policy.local-domains",
        ["PolicySettings.RelayToDomains"] = "actormta.policy.relay-to-domains",
        ["PolicySettings.RelayFromHosts"] = "actormta.policy.relay-from-hosts",
        ["PolicySettings.LocalUsers"] = "actormta.policy.local-users",
        ["SpoolSettings.Directory"] = "actormta.spool.directory",
        ["SpoolSettings.Fsync"] = "actormta.spool.fsync",
        ["SpoolSettings.WriteAheadLog"] = "actormta.spool.write-ahead-log",
        ["SpoolSettings.LogSegmentSize"] = "actormta.spool.log-segment-size",
        ["SpoolSettings.LogCheckpointInterval"] = "actormta.spool.log-checkpoint-interval",
        ["SpoolSettings.LogRetention"] = "actormta.spool.log-retention",
        ["SpoolSettings.LogSizeLimit"] = "actormta.spool.log-size-limit",
        ["SpoolSettings.MinFreeSpace"] = "actormta.spool.min-free-space",
        ["LocalDeliverySettings.MaildirRoot"] = "actormta.local-delivery.maildir-root",
        ["LocalDeliverySettings.Aliases"] = "actormta.local-delivery.aliases",
        ["LocalDeliverySettings.RecipientDelimiter"] = "actormta.local-delivery.recipient-delimiter",
        ["QueueSettings.RetryInterval"] = "actormta.queue.retry-interval",
        ["QueueSettings.MaxRetryTime"] = "actormta.queue.max-retry-time",
        ["QueueSettings.LocalDeliveryParallelism"] = "actormta.queue.local-delivery-parallelism",
        ["QueueSettings.QueueOnly"] = "actormta.queue.queue-only",
        ["QueueSettings.DelayWarning"] = "actormta.queue.delay-warning",
        ["QueueSettings.QueueRunInterval"] = "actormta.queue.queue-run-interval",
        ["QueueSettings.RoomCheckInterval"] = "actormta.queue.room-check-interval",
        ["QueueSettings.Tuning"] = "actormta.queue",
        ["QueueTuning.RetryRules"] = "actormta.queue.retry",
        ["QueueTuning.ParallelAttempts"] = "actormta.queue.parallel-attempts",
        ["RetryRule.Kind"] = "actormta.queue.retry",
        ["RetryRule.Cutoff"] = "actormta.queue.retry",
        ["RetryRule.Interval"] = "actormta.queue.retry",
        ["RetryRule.Factor"] = "actormta.queue.retry",
        ["LogSettings.MainLogPath"] = "actormta.log.main-log",
        ["LogSettings.JsonLogPath"] = "actormta.log.json-log",
        ["LogSettings.Console"] = "actormta.log.console",
        ["LogSettings.LogPipelining"] = "actormta.log.pipelining",
        ["OutboundSettings.Interface"] = "actormta.outbound.interface",
        ["OutboundSettings.HeloName"] = "actormta.outbound.helo-name",
        ["OutboundSettings.HostsPipeConnect"] = "actormta.outbound.hosts-pipe-connect",
        ["OutboundSettings.HostsTryFastOpen"] = "actormta.outbound.hosts-try-fastopen",
        ["OutboundSettings.UseChunking"] = "actormta.outbound.use-chunking",
        ["OutboundSettings.MaxMessagesPerConnection"] = "actormta.outbound.max-messages-per-connection",
        ["OutboundSettings.ConnectTimeout"] = "actormta.outbound.connect-timeout",
        ["OutboundSettings.CommandTimeout"] = "actormta.outbound.command-timeout",
        ["OutboundSettings.DataTimeout"] = "actormta.outbound.data-timeout",
        ["OutboundSettings.AttemptDeadline"] = "actormta.outbound.attempt-deadline",
        ["OutboundSettings.Port"] = "actormta.outbound.port",
        ["OutboundSettings.IdleConnectionTimeout"] = "actormta.outbound.idle-connection-timeout",
        ["OutboundSettings.MaxIdleConnections"] = "actormta.outbound.max-idle-connections",
        ["OutboundSettings.BacklogPerConnection"] = "actormta.outbound.backlog-per-connection",
        ["OutboundSettings.Tls"] = "actormta.outbound",
        ["OutboundTlsSettings.HostsAvoidTls"] = "actormta.outbound.hosts-avoid-tls",
        ["OutboundTlsSettings.HostsRequireTls"] = "actormta.outbound.hosts-require-tls",
        ["OutboundTlsSettings.HostsVerifyTls"] = "actormta.outbound.hosts-verify-tls",
        ["OutboundTlsSettings.VerifyCertificatesFile"] = "actormta.outbound.tls-verify-certificates",
        ["OutboundTlsSettings.TrustedRoots"] = "actormta.outbound.tls-verify-certificates",
        ["OutboundTlsSettings.Protocols"] = "actormta.outbound.tls-protocols",
        ["OutboundTlsSettings.TlsOnConnectPorts"] = "actormta.outbound.tls-on-connect-ports",
        ["OutboundTlsSettings.TempfailTryClear"] = "actormta.outbound.tls-tempfail-tryclear",
        ["OutboundTlsSettings.ClearAfterFailure"] = "actormta.outbound.tls-clear-after-failure",
        ["RoutingSettings.LocalDomains"] = "actormta.policy.local-domains",
        ["RoutingSettings.Smarthosts"] = "actormta.routing.smarthosts",
        ["RoutingSettings.DnsServers"] = "actormta.routing.dns-servers",
        ["RoutingSettings.DnsTimeout"] = "actormta.routing.dns-timeout",
        ["RoutingSettings.DefaultPort"] = "actormta.outbound.port",
        ["RoutingSettings.LocalAddresses"] = "actormta.routing.local-addresses",
        ["RoutingSettings.PreferIPv6"] = "actormta.routing.prefer-ipv6",
        ["RoutingSettings.UseIPv6"] = "actormta.routing.use-ipv6",
        ["RoutingSettings.DnsRetries"] = "actormta.routing.dns-retries",
        ["RoutingSettings.MinCacheTtl"] = "actormta.routing.dns-cache-min-ttl",
        ["RoutingSettings.MaxCacheTtl"] = "actormta.routing.dns-cache-max-ttl",
        ["RoutingSettings.DefaultNegativeTtl"] = "actormta.routing.dns-negative-ttl",
        ["RoutingSettings.MaxCnameDepth"] = "actormta.routing.dns-max-cnames",
        ["RoutingSettings.MaxCacheEntries"] = "actormta.routing.dns-cache-size",
        ["SmarthostRoute.Name"] = "actormta.routing.smarthosts",
        ["SmarthostRoute.Domains"] = "actormta.routing.smarthosts",
        ["SmarthostRoute.Hosts"] = "actormta.routing.smarthosts",
        ["SmarthostRoute.Auth"] = "actormta.routing.smarthosts",
        ["DestinationSettings.MaxConnections"] = "actormta.destinations.max-connections",
        ["DestinationSettings.RetryDataExpire"] = "actormta.destinations.retry-data-expire",
        ["DestinationSettings.PassivateAfter"] = "actormta.destinations.passivate-after",
        ["DestinationSettings.HostRetryInitial"] = "actormta.destinations.host-retry-initial",
        ["DestinationSettings.HostRetryMax"] = "actormta.destinations.host-retry-max",
        ["DestinationSettings.StoreRetryInterval"] = "actormta.destinations.store-retry-interval",
        ["PersistenceSettings.ConnectionString"] = "actormta.persistence.connection-string",
        ["PersistenceSettings.ProviderName"] = "actormta.persistence.provider-name",
        ["MtaSettings.Cluster"] = "actormta.cluster",
        ["ClusterSettings.Enabled"] = "actormta.cluster.enabled",
        ["ClusterSettings.Hostname"] = "actormta.cluster.hostname",
        ["ClusterSettings.Port"] = "actormta.cluster.port",
        ["ClusterSettings.SeedNodes"] = "actormta.cluster.seed-nodes",
        ["ClusterSettings.Shards"] = "actormta.cluster.shards",
        ["MtaSettings.Tls"] = "actormta.tls",
        ["TlsSettings.CertificatePath"] = "actormta.tls.certificate",
        ["TlsSettings.PrivateKeyPath"] = "actormta.tls.private-key",
        ["TlsSettings.Protocols"] = "actormta.tls.protocols",
        ["TlsSettings.AdvertiseHosts"] = "actormta.tls.advertise-hosts",
        ["TlsSettings.HandshakeTimeout"] = "actormta.tls.handshake-timeout",
        ["MetricsSettings.Enabled"] = "actormta.metrics.enabled",
        ["MetricsSettings.Address"] = "actormta.metrics.address",
        ["MetricsSettings.TopDestinations"] = "actormta.metrics.top-destinations",
        ["ControlSettings.Enabled"] = "actormta.control.enabled",
        ["ControlSettings.SocketPath"] = "actormta.control.socket",
        ["ControlSettings.RequestTimeout"] = "actormta.control.request-timeout",
        ["ControlSettings.MaxConnections"] = "actormta.control.max-connections",
    };

    private static readonly Type[] SettingsTypes =
    [
        typeof(MtaSettings), typeof(ListenerSettings), typeof(SmtpServerSettings), typeof(PolicySettings), typeof(SpoolSettings),
        typeof(LocalDeliverySettings), typeof(QueueSettings), typeof(QueueTuning), typeof(RetryRule), typeof(LogSettings), typeof(OutboundSettings), typeof(OutboundTlsSettings), typeof(RoutingSettings),
        typeof(SmarthostRoute), typeof(DestinationSettings), typeof(PersistenceSettings), typeof(MetricsSettings),
        typeof(AuthSettings), typeof(TlsSettings),
        typeof(ControlSettings),
    ];

    [Fact]
    public void EverySettingHasAKeyInReferenceConf()
    {
        HashSet<string> referencePaths = Paths(SettingsLoader.ReferenceText());
        var missing = new List<string>();
        foreach (Type type in SettingsTypes)
        {
            foreach (PropertyInfo p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (p.SetMethod is null || p.Name == "EqualityContract") continue; // computed, not configured
                string name = $"{type.Name}.{p.Name}";
                if (!KeyOf.TryGetValue(name, out string? key)) missing.Add($"{name} has no key (add one to reference.conf, hocon/actormta.conf, SettingsLoader and this table)");
                else if (key is not null && !referencePaths.Contains(key)) missing.Add($"{name}: {key} is not in reference.conf");
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public void TheExampleFileHasEveryKeyOfReferenceConf()
    {
        HashSet<string> reference = Leaves(SettingsLoader.ReferenceText());
        HashSet<string> example = Leaves(File.ReadAllText(ExampleFile()));

        Assert.Empty(reference.Except(example).Order());
        Assert.Empty(example.Except(reference).Order());
    }

    [Fact]
    public void TheExampleFileLoadsAndChangesNothing()
    {
        string example = ExampleFile();

        LoadedConfiguration loaded = SettingsLoader.Load(example, []);
        LoadedConfiguration defaults = SettingsLoader.Load(null, []);

        // The file says every value in it is the default: the effective trees differ only in "# from" comments.
        Assert.Equal(WithoutFrom(defaults.EffectiveHocon), WithoutFrom(loaded.EffectiveHocon));
        Assert.Contains($"# from {example}:", loaded.EffectiveHocon, StringComparison.Ordinal);
    }

    /// <summary>The repository's hocon/actormta.conf, found from this source file or the current directory.</summary>
    internal static string ExampleFile([CallerFilePath] string sourceFile = "")
    {
        foreach (string? start in new[] { Path.GetDirectoryName(sourceFile), Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (string? dir = start; !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
            {
                string candidate = Path.Combine(dir, "hocon", "actormta.conf");
                if (File.Exists(candidate) && File.Exists(Path.Combine(dir, "ActorMta.sln"))) return candidate;
            }
        }

        throw new FileNotFoundException("hocon/actormta.conf not found above " + sourceFile);
    }

    private static string WithoutFrom(string hocon) => string.Join('\n', hocon.Split('\n').Select(line =>
    {
        int at = line.IndexOf("  # ", StringComparison.Ordinal);
        if (at < 0) return line;
        var notes = line[(at + 4)..].Split("; ").Where(n => !n.StartsWith("from ", StringComparison.Ordinal)).ToArray();
        return notes.Length == 0 ? line[..at] : line[..at] + "  # " + string.Join("; ", notes);
    }));

    /// <summary>Every path under actormta, sections and leaves.</summary>
    private static HashSet<string> Paths(string hocon) => Walk(hocon, leavesOnly: false);

    internal static HashSet<string> Leaves(string hocon) => Walk(hocon, leavesOnly: true);

    private static HashSet<string> Walk(string hocon, bool leavesOnly)
    {
        var config = AkkaConfigurationFactory.ParseString(hocon);
        var result = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string path, HoconValue value)
        {
            if (value.IsObject())
            {
                if (!leavesOnly) result.Add(path);
                foreach (var (key, child) in value.GetObject().Items) Visit(path + "." + key, child);
            }
            else
            {
                result.Add(path);
            }
        }

        Visit("actormta", config.GetValue("actormta"));
        return result;
    }
}
