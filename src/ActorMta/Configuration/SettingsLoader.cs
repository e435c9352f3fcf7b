using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using ActorMta.Destinations;
using ActorMta.Routing;
using ActorMta.Smtp;
using Akka.Configuration.Hocon;
using AkkaConfig = Akka.Configuration.Config;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace ActorMta.Configuration;

/// <summary>The outcome of <see cref="SettingsLoader.Load"/>.</summary>
/// <param name="Settings">The typed, validated <c>actormta { }</c> tree.</param>
/// <param name="AkkaConfig">The merged tree (all sources) for <c>ActorSystem.Create</c>; its
/// <c>akka { }</c> part comes from the same files and --set items.</param>
/// <param name="EffectiveHocon">The effective <c>actormta { }</c> tree as HOCON, each value
/// that does not come from the defaults annotated with where it was set.</param>
public sealed record LoadedConfiguration(MtaSettings Settings, AkkaConfig AkkaConfig, string EffectiveHocon);

/// <summary>
/// Builds <see cref="MtaSettings"/> from HOCON: the embedded <c>reference.conf</c>, overridden by a
/// configuration file, overridden by <c>--set path=value</c> items (later items win). Values are
/// parsed by Akka's HOCON parser; <see cref="HoconSourceMap"/> supplies line numbers and catches
/// syntax errors Akka would accept silently. Every problem is collected and thrown together.
/// </summary>
public static partial class SettingsLoader
{
    /// <summary>Name of the embedded defaults (see the csproj).</summary>
    public const string ReferenceResourceName = "ActorMta.reference.conf";

    private const string Root = "actormta";

    /// <summary>Top N plus "other" stays within the exporter's series cap per instrument.</summary>
    private const int MaxTopDestinations = Metrics.MetricsEndpoint.DefaultMaxSeriesPerInstrument - 1;

    /// <summary>Far above any useful TFO queue; the kernel caps it at net.core.somaxconn anyway.</summary>
    private const int MaxTcpFastOpenQueue = 1_000_000;
    private const string ReferenceLabel = "reference.conf (embedded)";
    private static readonly TimeSpan ParseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The embedded defaults as text.</summary>
    public static string ReferenceText()
    {
        using Stream stream = typeof(SettingsLoader).Assembly.GetManifestResourceStream(ReferenceResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ReferenceResourceName} is missing from {typeof(SettingsLoader).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Loads and validates the configuration. <paramref name="configFile"/> may be null (defaults
    /// only); each of <paramref name="sets"/> is <c>path=value</c>, parsed as HOCON <c>path = value</c>.
    /// Relative paths in values resolve against the current directory.
    /// </summary>
    /// <exception cref="ConfigurationException">Listing every problem found, each with its location.</exception>
    public static LoadedConfiguration Load(string? configFile, IReadOnlyList<string> sets) => Load(configFile, sets, forSubmission: false);

    /// <param name="forSubmission">Read as <c>actormta sendmail</c> run by any user: an included file
    /// that user may not read is skipped. It is where an operator keeps secrets (a smarthost's
    /// password) readable by the MTA alone, and a submission needs none of them, only where the
    /// control socket is and the message limits.</param>
    public static LoadedConfiguration Load(string? configFile, IReadOnlyList<string> sets, bool forSubmission)
    {
        ArgumentNullException.ThrowIfNull(sets);
        var errors = new List<ConfigurationError>();

        Source reference = Source.Parse(ReferenceLabel, ReferenceText(), hasLines: true, errors)
            ?? throw new InvalidOperationException("the embedded reference.conf does not parse: " + string.Join("; ", errors));

        Source? file = null;
        HoconIncludes.Expanded? expanded = null;
        if (configFile is not null)
        {
            string text;
            try
            {
                text = File.ReadAllText(configFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                // .NET says "access denied" for a directory, which sends the operator to the permissions.
                string why = Directory.Exists(configFile) ? "it is a directory" : e.Message;
                throw new ConfigurationException([new ConfigurationError(configFile, null, $"cannot read the configuration file: {why}")]);
            }

            expanded = HoconIncludes.Expand(configFile, text, errors, skipForbidden: forSubmission);
            file = Source.Parse(configFile, expanded.Text, hasLines: true, errors, expanded.At);
        }

        var setSources = new List<Source>();
        foreach (string item in sets)
        {
            string label = "--set " + item;
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || string.IsNullOrWhiteSpace(item[..eq]))
            {
                errors.Add(new ConfigurationError(label, null, "expected path=value, e.g. --set actormta.smtp.max-recipients=500"));
                continue;
            }

            string path = item[..eq].Trim();
            string value = item[(eq + 1)..];
            if (value.Trim().Length == 0)
            {
                errors.Add(new ConfigurationError(label, path, "no value after '=' (use \"\" for an empty string)"));
                continue;
            }

            Source? set = Source.Parse(label, $"{path} = {value}", hasLines: false, errors);
            if (set is not null) setSources.Add(set);
        }

        // Highest precedence first: the last --set, ..., the first --set, the file, the defaults.
        var ordered = new List<Source>();
        for (int i = setSources.Count - 1; i >= 0; i--) ordered.Add(setSources[i]);
        if (file is not null) ordered.Add(file);
        ordered.Add(reference);

        var reader = new Reader(ordered, reference, errors);
        foreach (Source user in ordered)
        {
            if (!ReferenceEquals(user, reference)) reader.CheckKeys(user);
        }

        // Read even after errors elsewhere, so one run reports every problem.
        MtaSettings settings = ReadSettings(reader);
        if (errors.Count > 0) throw new ConfigurationException(InSourceOrder(errors, configFile, expanded, sets));

        // The Akka logger is named by code, not in reference.conf, so the type name follows any
        // rename of the assembly; a file or --set that names akka.loggers still wins.
        Type akkaLogger = typeof(Logging.AkkaSerilogLogger);
        AkkaConfig merged = AkkaConfigurationFactory
            .ParseString($"akka.loggers = [\"{akkaLogger.FullName}, {akkaLogger.Assembly.GetName().Name}\"]")
            .WithFallback(ordered[^1].Config);
        for (int i = ordered.Count - 2; i >= 0; i--)
        {
            if (!ordered[i].Config.IsEmpty) merged = ordered[i].Config.WithFallback(merged);
        }

        return new LoadedConfiguration(settings, merged, reader.Render());
    }

    /// <summary>File errors by line, then --set errors in command-line order, then anything else.</summary>
    private static List<ConfigurationError> InSourceOrder(List<ConfigurationError> errors, string? configFile, HoconIncludes.Expanded? expanded,
        IReadOnlyList<string> sets)
    {
        (int Rank, int Line) Key(ConfigurationError e)
        {
            // Where the file's text, includes resolved, has that line: included files' errors stand
            // where they were included.
            if (expanded?.PositionOf(e.Location) is { } position) return (0, position);
            if (configFile is not null && e.Location == configFile) return (0, 0);
            for (int i = 0; i < sets.Count; i++)
            {
                if (e.Location == "--set " + sets[i]) return (1 + i, 0);
            }

            return (int.MaxValue, 0);
        }

        return [.. errors.Select((e, i) => (e, i)).OrderBy(x => Key(x.e)).ThenBy(x => x.i).Select(x => x.e)];
    }

    /// <summary>A three-way switch: <c>auto</c> lets the MTA decide.</summary>
    private enum Toggle { Auto, On, Off }

    private static MtaSettings ReadSettings(Reader r)
    {
        string hostname = r.String("actormta.primary-hostname", allowEmpty: true);
        string heloName = r.String("actormta.outbound.helo-name", allowEmpty: true);
        HostList hostsPipeConnect = r.HostList("actormta.outbound.hosts-pipe-connect");
        if (hostname.Length > 0)
        {
            // It is the EHLO name too unless helo-name says otherwise. A bad one is reported here
            // only, not again for every domain list that says "@".
            if (!r.CheckHeloName("actormta.primary-hostname", hostname, hostsPipeConnect, isEhloName: heloName.Length == 0,
                    instead: "use a fixed host name, or \"\" for this machine's name"))
            {
                hostname = "invalid.invalid";
            }
        }
        else
        {
            // The machine's own name is taken as it is.
            hostname = Dns.GetHostName();
            r.Note("actormta.primary-hostname", hostname);
        }

        string dataDirectory = r.Path("actormta.data-directory", emptyMeans: null) ?? Path.GetFullPath("./data");

        var listeners = r.Listeners("actormta.listen")
            .Concat(r.Listeners("actormta.listen-submission", ListenerKind.Submission)).ToList();
        listeners = [.. listeners, .. ReadTlsListeners(r, listeners)];
        if (listeners.Count == 0) r.NoListener();

        var smtp = new SmtpServerSettings(
            Banner: r.String("actormta.smtp.banner", allowEmpty: false),
            PipeliningAdvertiseHosts: r.HostList("actormta.smtp.pipelining-advertise-hosts"),
            PipeliningConnectAdvertiseHosts: r.HostList("actormta.smtp.pipelining-connect-advertise-hosts"),
            PipeConnectKeywords: r.Keywords("actormta.smtp.pipe-connect-keywords"),
            ChunkingAdvertiseHosts: r.HostList("actormta.smtp.chunking-advertise-hosts"),
            MaxCommandLineLength: r.PositiveInt("actormta.smtp.max-command-line-length", minimum: 512),
            MaxTextLineLength: r.PositiveInt("actormta.smtp.max-text-line-length", minimum: 3),
            MaxMessageSize: r.Size("actormta.smtp.max-message-size"),
            MaxRecipients: r.PositiveInt("actormta.smtp.max-recipients"),
            MaxMessagesPerConnection: r.PositiveInt("actormta.smtp.max-messages-per-connection"),
            MaxConnections: r.PositiveInt("actormta.smtp.max-connections"),
            MaxConnectionsPerIp: r.PositiveInt("actormta.smtp.max-connections-per-ip"),
            MaxBadCommands: r.PositiveInt("actormta.smtp.max-bad-commands"),
            IdleTimeout: r.Duration("actormta.smtp.idle-timeout"),
            DataTimeout: r.Duration("actormta.smtp.data-timeout"),
            BareLineEndings: r.Enum<BareLineEndingPolicy>("actormta.smtp.bare-line-endings"))
        {
            TcpFastOpenQueue = r.NonNegativeInt("actormta.smtp.tcp-fastopen", maximum: MaxTcpFastOpenQueue),
            MaxDataInMemory = r.SizeOrOff("actormta.smtp.max-data-in-memory"),
            MaxReceivedHeaders = r.PositiveInt("actormta.smtp.max-received-headers"),
            DrainTimeout = r.DurationOrZero("actormta.smtp.drain-timeout"),
        };

        var localUsers = r.StringList("actormta.policy.local-users");
        foreach (string user in localUsers)
        {
            if (!IsLocalPart(user))
            {
                r.Fail("actormta.policy.local-users", $"not a local part: \"{user}\"");
            }
        }

        var policy = new PolicySettings(
            LocalDomains: r.DomainList("actormta.policy.local-domains", hostname),
            RelayToDomains: r.DomainList("actormta.policy.relay-to-domains", hostname),
            RelayFromHosts: r.HostList("actormta.policy.relay-from-hosts"),
            LocalUsers: new HashSet<string>(localUsers, StringComparer.OrdinalIgnoreCase));

        if (heloName.Length > 0)
        {
            r.CheckHeloName("actormta.outbound.helo-name", heloName, hostsPipeConnect, isEhloName: true,
                instead: "use a fixed name, or \"\" for primary-hostname");
        }
        else
        {
            heloName = hostname;
            r.Note("actormta.outbound.helo-name", hostname);
        }

        var outbound = new OutboundSettings(
            HeloName: heloName,
            HostsPipeConnect: hostsPipeConnect,
            HostsTryFastOpen: r.HostList("actormta.outbound.hosts-try-fastopen"),
            UseChunking: r.Bool("actormta.outbound.use-chunking"),
            MaxMessagesPerConnection: r.PositiveInt("actormta.outbound.max-messages-per-connection"),
            ConnectTimeout: r.Duration("actormta.outbound.connect-timeout"),
            CommandTimeout: r.Duration("actormta.outbound.command-timeout"),
            DataTimeout: r.Duration("actormta.outbound.data-timeout"),
            AttemptDeadline: r.Duration("actormta.outbound.attempt-deadline"),
            Port: r.Port("actormta.outbound.port", allowZero: false))
        {
            Tls = ReadOutboundTls(r),
        };

        var spool = new SpoolSettings(
            Directory: r.Path("actormta.spool.directory", emptyMeans: System.IO.Path.Combine(dataDirectory, "spool"))!,
            Fsync: r.Bool("actormta.spool.fsync"));
        spool = ReadSpoolLog(r, spool);

        var localDelivery = ReadAliases(r, new LocalDeliverySettings(
            MaildirRoot: r.Path("actormta.local-delivery.maildir-root", emptyMeans: System.IO.Path.Combine(dataDirectory, "maildir"))!), policy.LocalUsers);

        var queue = new QueueSettings(
            RetryInterval: r.Duration("actormta.queue.retry-interval"),
            MaxRetryTime: r.Duration("actormta.queue.max-retry-time"),
            LocalDeliveryParallelism: r.PositiveInt("actormta.queue.local-delivery-parallelism"))
        {
            Tuning = new Queue.QueueTuning(
                RetryRules: r.RetryRules("actormta.queue.retry"),
                ParallelAttempts: r.PositiveInt("actormta.queue.parallel-attempts")),
            DelayWarning = r.DurationOrZero("actormta.queue.delay-warning"),
        };
        queue = ReadQueueOnly(r, queue);

        var log = new LogSettings(
            MainLogPath: r.OptionalPath("actormta.log.main-log", emptyMeans: System.IO.Path.Combine(dataDirectory, "log", "mainlog")),
            JsonLogPath: r.OptionalPath("actormta.log.json-log", emptyMeans: null),
            Console: r.Bool("actormta.log.console"),
            LogPipelining: r.Bool("actormta.log.pipelining"));

        var localAddresses = r.Addresses("actormta.routing.local-addresses");
        var routing = new RoutingSettings(
            LocalDomains: policy.LocalDomains,
            Smarthosts: r.Smarthosts("actormta.routing.smarthosts", hostname),
            DnsServers: r.DnsServers("actormta.routing.dns-servers"),
            DnsTimeout: r.Duration("actormta.routing.dns-timeout"),
            DefaultPort: outbound.Port,
            LocalAddresses: localAddresses.Count > 0 ? localAddresses : RoutingSettings.MachineAddresses(),
            PreferIPv6: r.Bool("actormta.routing.prefer-ipv6"))
        {
            DnsRetries = r.NonNegativeInt("actormta.routing.dns-retries"),
            UseIPv6 = r.Enum<Toggle>("actormta.routing.use-ipv6") switch { Toggle.On => true, Toggle.Off => false, _ => null },
            MinCacheTtl = r.Duration("actormta.routing.dns-cache-min-ttl"),
            MaxCacheTtl = r.Duration("actormta.routing.dns-cache-max-ttl"),
            DefaultNegativeTtl = r.Duration("actormta.routing.dns-negative-ttl"),
            MaxCnameDepth = r.PositiveInt("actormta.routing.dns-max-cnames"),
            MaxCacheEntries = r.PositiveInt("actormta.routing.dns-cache-size"),
        };
        if (routing.MinCacheTtl > routing.MaxCacheTtl
            && !r.HasFailed("actormta.routing.dns-cache-min-ttl") && !r.HasFailed("actormta.routing.dns-cache-max-ttl"))
        {
            r.Fail("actormta.routing.dns-cache-min-ttl", $"is longer than actormta.routing.dns-cache-max-ttl ({routing.MinCacheTtl} > {routing.MaxCacheTtl})");
        }

        var destinations = new DestinationSettings(
            MaxConnections: r.PositiveInt("actormta.destinations.max-connections"),
            RetryDataExpire: r.Duration("actormta.destinations.retry-data-expire"),
            PassivateAfter: r.Duration("actormta.destinations.passivate-after"),
            HostRetryInitial: r.Duration("actormta.destinations.host-retry-initial"),
            HostRetryMax: r.Duration("actormta.destinations.host-retry-max"))
        {
            StoreRetryInterval = r.Duration("actormta.destinations.store-retry-interval"),
        };

        var persistence = new PersistenceSettings(
            ConnectionString: r.String("actormta.persistence.connection-string", allowEmpty: true),
            ProviderName: r.String("actormta.persistence.provider-name", allowEmpty: false));
        if (!r.HasFailed("actormta.persistence.provider-name") && !Destinations.DestinationPersistence.Providers.Contains(persistence.ProviderName))
        {
            r.Fail("actormta.persistence.provider-name",
                $"\"{persistence.ProviderName}\" is not a provider ActorMta ships; one of: {string.Join(", ", Destinations.DestinationPersistence.Providers)}");
        }

        var metrics = ReadMetrics(r);

        return new MtaSettings(hostname, dataDirectory, smtp, listeners, policy, spool, localDelivery, queue, log)
        {
            Outbound = ReadInterface(r, ReadBacklog(r, ReadIdleConnections(r, outbound))),
            Routing = routing,
            Destinations = destinations,
            Persistence = persistence,
            Cluster = ReadCluster(r, persistence),
            Metrics = metrics,
            Auth = ReadAuth(r, dataDirectory),
            Tls = ReadTls(r),
            Control = ReadControl(r, dataDirectory),
            SchedulingPolicy = r.Enum<SchedulingPolicy>("actormta.scheduling-policy"),
        };
    }

    /// <summary>One parsed layer: the defaults, the file, or one --set item.</summary>
    private sealed class Source
    {
        private readonly Func<int, string> _at;

        private Source(string label, AkkaConfig config, HoconSourceMap map, bool hasLines, Func<int, string> at)
        {
            Label = label;
            Config = config;
            Map = map;
            HasLines = hasLines;
            _at = at;
        }

        public string Label { get; }

        public AkkaConfig Config { get; }

        public HoconSourceMap Map { get; }

        public bool HasLines { get; }

        public string Location(string path) => HasLines ? _at(Map.LineOf(path) ?? 1) : Label;

        /// <summary>Null (errors added) when the text does not parse.</summary>
        /// <param name="at">"file:line" for a line of <paramref name="text"/> (a file with includes
        /// resolved spans several files); null: <paramref name="label"/> and the line.</param>
        public static Source? Parse(string label, string text, bool hasLines, List<ConfigurationError> errors, Func<int, string>? at = null)
        {
            at ??= line => $"{label}:{line}";
            var map = HoconSourceMap.Scan(text);
            if (map.Errors.Count > 0)
            {
                foreach (var (line, message) in map.Errors)
                {
                    errors.Add(new ConfigurationError(hasLines ? at(line) : label, null, message));
                }

                return null;
            }

            if (IsOnlyComments(text))
            {
                return new Source(label, AkkaConfigurationFactory.Empty, map, hasLines, at);
            }

            // Akka's parser has been seen to spin forever on malformed input; the scan above rejects
            // the known cases, and this bound keeps an unknown one from hanging start-up.
            var parse = Task.Run(() => AkkaConfigurationFactory.ParseString(text));
            try
            {
                if (!parse.Wait(ParseTimeout))
                {
                    errors.Add(new ConfigurationError(hasLines ? at(1) : label, null, "the HOCON parser did not finish; check brackets and quotes"));
                    return null;
                }

                return new Source(label, parse.Result, map, hasLines, at);
            }
            catch (AggregateException ae) when (ae.InnerException is not null)
            {
                // Akka's messages may carry a drawing of the text with a caret; keep the first line.
                Exception e = ae.InnerException;
                int line = LineOfProblem(text, e.Message);
                string message = e.Message.Split('\n')[0].Trim().TrimEnd(':');
                errors.Add(new ConfigurationError(hasLines ? at(line) : label, null, "HOCON: " + message));
                return null;
            }
        }

        private static bool IsOnlyComments(string text) =>
            text.Split('\n').All(l => l.Trim().Length == 0 || l.TrimStart().StartsWith('#') || l.TrimStart().StartsWith("//", StringComparison.Ordinal));

        /// <summary>Akka's messages carry no position; for an unresolved substitution find it in the text.</summary>
        private static int LineOfProblem(string text, string message)
        {
            Match position = AtPosition().Match(message);
            if (position.Success && int.TryParse(position.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int offset))
            {
                return 1 + text.AsSpan(0, Math.Clamp(offset, 0, text.Length)).Count('\n');
            }

            const string Unresolved = "Unresolved substitution:";
            int at = message.IndexOf(Unresolved, StringComparison.Ordinal);
            if (at >= 0)
            {
                string name = message[(at + Unresolved.Length)..].Trim();
                foreach (string candidate in new[] { "${" + name + "}", "${?" + name + "}", name })
                {
                    int index = text.IndexOf(candidate, StringComparison.Ordinal);
                    if (index >= 0) return 1 + text.AsSpan(0, index).Count('\n');
                }
            }

            return 1;
        }
    }

    /// <summary>Typed reads over the layered sources; each problem becomes an error, never an exception.</summary>
    private sealed partial class Reader(List<Source> ordered, Source reference, List<ConfigurationError> errors)
    {
        private readonly Dictionary<string, Source> _origins = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _notes = new(StringComparer.Ordinal);

        public void Note(string path, string effective) => _notes[path] = effective;

        /// <summary>True once <paramref name="path"/> has an error: its value is then a placeholder,
        /// which a range check must not judge ("expected at least 64K, got 1 bytes").</summary>
        public bool HasFailed(string path) => errors.Exists(e => e.Path == path);

        public void Fail(string path, string message)
        {
            Source origin = _origins.TryGetValue(path, out var s) ? s : Find(path).Source;
            errors.Add(new ConfigurationError(origin.Location(path), path, message));
        }

        /// <summary>The value of <paramref name="path"/> is reference.conf's: the operator did not write it.</summary>
        public bool IsDefault(string path) => ReferenceEquals(_origins.TryGetValue(path, out var s) ? s : Find(path).Source, reference);

        /// <summary>
        /// <paramref name="path"/> does not go with the value of <paramref name="because"/>: the error
        /// stands where the operator wrote <paramref name="path"/>, or, if they left it at its default,
        /// where they wrote <paramref name="because"/> (a line in reference.conf helps nobody).
        /// </summary>
        public void FailWith(string path, string because, string message)
        {
            if (IsDefault(path) && !IsDefault(because)) Fail(because, $"{path} {message}");
            else Fail(path, message);
        }

        private (Source Source, HoconValue? Value) Find(string path)
        {
            foreach (Source source in ordered)
            {
                HoconValue? value = TryGet(source.Config, path);
                if (value is not null) return (source, value);
            }

            return (reference, null);
        }

        private static HoconValue? TryGet(AkkaConfig config, string path)
        {
            try
            {
                if (config.IsEmpty || !config.HasPath(path)) return null;
                HoconValue value = config.GetValue(path);
                return value is null || value.IsEmpty ? null : value;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A parent on this path is a value rather than an object; CheckKeys reports that.
                return null;
            }
        }

        /// <summary>The leaf's text; null (error added) when it is a list or object.</summary>
        private string? Scalar(string path, string expected)
        {
            var (source, value) = Find(path);
            _origins[path] = source;
            if (value is null)
            {
                Fail(path, $"missing; expected {expected}");
                return null;
            }

            if (value.IsObject() || IsList(value) || !value.IsString())
            {
                Fail(path, $"expected {expected}, got {Shape(value)}");
                return null;
            }

            try
            {
                string? text = value.GetString();
                if (text is null) Fail(path, $"expected {expected}, got null");
                return text;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Fail(path, $"expected {expected}: {e.Message}");
                return null;
            }
        }

        private static string Shape(HoconValue value) =>
            value.IsObject() ? "an object" : IsList(value) ? "a list" : $"\"{Safe(value)}\"";

        /// <summary>Akka's IsArray() is false for an empty list "[]"; this is true for it too.</summary>
        private static bool IsList(HoconValue value) =>
            value.IsArray() || (value.Values.Count > 0 && value.Values.All(v => v is HoconArray));

        private static IEnumerable<HoconValue> Elements(HoconValue value) =>
            value.IsArray() ? value.GetArray() : [];

        private static string Safe(HoconValue value)
        {
            try
            {
                return value.GetString() ?? "null";
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return value.ToString();
            }
        }

        public string String(string path, bool allowEmpty)
        {
            string? text = Scalar(path, allowEmpty ? "a string" : "a non-empty string");
            if (text is null) return "";
            if (!allowEmpty && text.Trim().Length == 0) Fail(path, "must not be empty");
            return text;
        }

        public int PositiveInt(string path, int minimum = 1)
        {
            string? text = Scalar(path, "a positive integer");
            if (text is null) return minimum;
            if (!int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value <= 0)
            {
                Fail(path, $"expected a positive integer, got \"{text}\"");
                return minimum;
            }

            if (value < minimum) Fail(path, $"must be at least {minimum}, got {value}");
            return value;
        }

        public int NonNegativeInt(string path, int maximum = int.MaxValue)
        {
            string? text = Scalar(path, "a whole number (0 or more)");
            if (text is null) return 0;
            if (!int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < 0)
            {
                Fail(path, $"expected a whole number (0 or more), got \"{text}\"");
                return 0;
            }

            if (value > maximum)
            {
                Fail(path, $"must be at most {maximum}, got {value}");
                return maximum;
            }

            return value;
        }

        /// <summary>Exim-style retry rules, one string each ("F,2h,15m", "G,16h,1h,1.5"); see <see cref="Queue.RetrySchedule"/>.</summary>
        public IReadOnlyList<Queue.RetryRule> RetryRules(string path)
        {
            var items = StringList(path);
            if (errors.Any(e => e.Path == path)) return Queue.RetrySchedule.EximDefault;
            try
            {
                return Queue.RetrySchedule.Parse(items);
            }
            catch (FormatException e)
            {
                Fail(path, e.Message + " (each rule is one quoted string: [\"F,2h,15m\", \"G,16h,1h,1.5\"])");
                return Queue.RetrySchedule.EximDefault;
            }
        }

        /// <summary>One "ip:port" (IPv6 as "[::1]:port"); port 0 picks a free one.</summary>
        public IPEndPoint EndPoint(string path, IPEndPoint fallback)
        {
            string? text = Scalar(path, "\"ip:port\"");
            if (text is null) return fallback;
            if (ParseEndPoint(text.Trim()) is { } endPoint) return endPoint;
            Fail(path, $"expected \"ip:port\" (IPv6 as \"[::1]:port\"), got \"{text}\"");
            return fallback;
        }

        /// <summary>
        /// The name we send in EHLO: a fixed host name or address literal. Nothing is expanded, so a
        /// "$" is always a mistake; with early pipelining it is also the one thing the spec forbids
        /// (Part A rule 9): an EHLO name that depends on the local address, which is not known yet
        /// when the early flight is written.
        /// </summary>
        /// <returns>False (error added) when the name is not usable.</returns>
        public bool CheckHeloName(string path, string name, HostList hostsPipeConnect, bool isEhloName, string instead)
        {
            if (name.Contains('$', StringComparison.Ordinal))
            {
                // Name the variable that depends on the local address if there is one, else the first.
                var all = Expansion().Matches(name);
                Match expansion = all.FirstOrDefault(m => IsLocalAddressVariable(m.Groups[2].Value)) ?? Expansion().Match(name);
                string variable = expansion.Groups[2].Value;
                string what = !expansion.Success ? "\"$\""
                    : !expansion.Groups[1].Success ? $"\"${variable}\""
                    : expansion.Groups[3].Success ? $"\"${{{variable}}}\""
                    : $"\"${{{variable} ...}}\"";
                bool sendingAddress = IsLocalAddressVariable(variable);
                if (isEhloName && MayMatch(hostsPipeConnect))
                {
                    Source where = Find("actormta.outbound.hosts-pipe-connect").Source;
                    Fail(path,
                        $"\"{name}\" contains {what}: with early pipelining on (actormta.outbound.hosts-pipe-connect = " +
                        $"[{string.Join(", ", hostsPipeConnect.Items.Select(i => $"\"{i}\""))}] at {where.Location("actormta.outbound.hosts-pipe-connect")}) " +
                        "the EHLO is written before the connection's local address is known, so the EHLO name must not depend on it" +
                        (sendingAddress ? "" : ", and ActorMta does not expand \"$\" variables at all") +
                        "; " + instead);
                }
                else
                {
                    Fail(path,
                        $"\"{name}\" contains {what}, but ActorMta does not expand \"$\" variables" +
                        (sendingAddress && isEhloName ? " (the EHLO name is fixed, the same for every local address)" : "") +
                        " and it would be used as it is; " + instead);
                }

                return false;
            }

            bool literal = path == "actormta.outbound.helo-name";
            if (!HeloSyntax().IsMatch(name.Trim()) || name.Trim().Length > 255 || (!literal && name.Trim().StartsWith('[')))
            {
                Fail(path, $"\"{name}\" is not a host name (letters, digits, '-', '.')" + (literal ? " or an address literal such as \"[192.0.2.1]\"" : ""));
                return false;
            }

            // As in domain lists (which "@" fills with primary-hostname): no top-level domain is all
            // digits, so "10.0.0" or "1.5" is a mistyped address, not a name.
            string trimmed = name.Trim().TrimEnd('.');
            if (!trimmed.StartsWith('[') && trimmed[(trimmed.LastIndexOf('.') + 1)..].All(char.IsAsciiDigit))
            {
                Fail(path, $"\"{name}\" is not a host name: its last label is all digits" +
                    (literal ? " (an address goes in brackets, such as \"[192.0.2.1]\")" : ""));
                return false;
            }

            return true;
        }

        private static bool IsLocalAddressVariable(string name) =>
            name is "sending_ip_address" or "sending_port" or "interface_address" or "interface_port";

        /// <summary>False for an empty list or one of negations only ("!*" is nobody).</summary>
        private static bool MayMatch(HostList list) => list.Items.Any(i => !i.TrimStart().StartsWith('!'));

        public IReadOnlyList<IPAddress> Addresses(string path)
        {
            var result = new List<IPAddress>();
            foreach (string item in StringList(path))
            {
                if (IPAddress.TryParse(item.Trim(), out IPAddress? address)) result.Add(address);
                else Fail(path, $"not an IP address: \"{item}\"");
            }

            return result;
        }

        /// <summary>"ip" or "ip:port" ("[v6]:port"); port 53 when none is given.</summary>
        public IReadOnlyList<IPEndPoint> DnsServers(string path)
        {
            var result = new List<IPEndPoint>();
            foreach (string item in StringList(path))
            {
                string text = item.Trim();
                // ParseEndPoint first: IPAddress.TryParse accepts "[::1]:5353" and drops the port.
                if (ParseEndPoint(text) is { Port: > 0 } endPoint) result.Add(endPoint);
                else if (!text.StartsWith('[') && IPAddress.TryParse(text, out IPAddress? bare)) result.Add(new IPEndPoint(bare, 53));
                else Fail(path, $"expected \"ip\" or \"ip:port\" (IPv6 as \"[::1]:53\"), got \"{item}\"");
            }

            return result;
        }

        /// <summary><c>[ { name = "...", domains = [...], hosts = [...] } ]</c>.</summary>
        public IReadOnlyList<SmarthostRoute> Smarthosts(string path, string primaryHostname)
        {
            var (source, value) = Find(path);
            _origins[path] = source;
            if (value is null) return [];
            if (!IsList(value))
            {
                Fail(path, $"expected a list of {{ name, domains, hosts }} objects, got {Shape(value)}");
                return [];
            }

            var routes = new List<SmarthostRoute>();
            int index = 0;
            foreach (HoconValue element in Elements(value))
            {
                string at = $"{path}[{index++}]";
                if (!element.IsObject())
                {
                    Fail(path, $"{at}: expected an object {{ name, domains, hosts }}, got {Shape(element)}");
                    continue;
                }

                var items = element.GetObject().Items;
                foreach (string key in items.Keys.Where(k => k is not ("name" or "domains" or "hosts" or "auth")))
                {
                    Fail(path, $"{at}: unknown key \"{key}\" (expected name, domains, hosts, auth)");
                }

                string name = items.TryGetValue("name", out HoconValue? n) && n.IsString() ? n.GetString() ?? "" : $"smarthost-{index}";
                IReadOnlyList<string>? domains = items.TryGetValue("domains", out HoconValue? d) ? Strings(d) : null;
                IReadOnlyList<string>? hosts = items.TryGetValue("hosts", out HoconValue? h) ? Strings(h) : null;
                if (domains is null)
                {
                    Fail(path, $"{at}: \"domains\" must be a list of domain patterns");
                    continue;
                }

                if (hosts is null || hosts.Count == 0 || hosts.Any(x => x.Trim().Length == 0 || x.Any(char.IsWhiteSpace)))
                {
                    Fail(path, $"{at}: \"hosts\" must be a non-empty list of host, host:port or [ipv6]:port");
                    continue;
                }

                try
                {
                    var list = Smtp.DomainList.Parse(domains.Select(x => x.Trim() == "@" ? primaryHostname : x));
                    routes.Add(new SmarthostRoute(name, list, [.. hosts.Select(x => x.Trim())])
                    {
                        Auth = items.TryGetValue("auth", out HoconValue? a) ? SmarthostAuth(path, at, a) : null,
                    });
                }
                catch (FormatException e)
                {
                    Fail(path, $"{at}: {e.Message}");
                }
            }

            return routes;
        }

        private static IReadOnlyList<string>? Strings(HoconValue value)
        {
            if (!IsList(value)) return null;
            var result = new List<string>();
            foreach (HoconValue element in Elements(value))
            {
                if (element.IsObject() || IsList(element) || !element.IsString() || element.GetString() is not { } text) return null;
                result.Add(text);
            }

            return result;
        }

        public int Port(string path, bool allowZero)
        {
            string? text = Scalar(path, "a TCP port");
            if (text is null) return 0;
            if (!int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ||
                value < (allowZero ? 0 : 1) || value > 65535)
            {
                Fail(path, $"expected a TCP port ({(allowZero ? 0 : 1)}-65535), got \"{text}\"");
                return 0;
            }

            return value;
        }

        public bool Bool(string path)
        {
            string? text = Scalar(path, "on or off");
            if (text is null) return false;
            switch (text.Trim().ToLowerInvariant())
            {
                case "on" or "true" or "yes":
                    return true;
                case "off" or "false" or "no":
                    return false;
                default:
                    Fail(path, $"expected on or off (true/false, yes/no), got \"{text}\"");
                    return false;
            }
        }

        public T Enum<T>(string path)
            where T : struct, Enum
        {
            string[] names = [.. System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant())];
            string expected = string.Join(" or ", names);
            string? text = Scalar(path, expected);
            if (text is null) return default;
            if (System.Enum.TryParse(text.Trim(), ignoreCase: true, out T value) && names.Contains(text.Trim().ToLowerInvariant()))
            {
                return value;
            }

            Fail(path, $"expected {expected}, got \"{text}\"");
            return default;
        }

        public long Size(string path)
        {
            string? text = Scalar(path, "a size such as 50M");
            if (text is null) return 1;
            long? bytes = ParseSize(text);
            if (bytes is null or <= 0)
            {
                Fail(path, $"expected a positive size such as 52428800, 50M or 50MiB, got \"{text}\"");
                return 1;
            }

            return bytes.Value;
        }

        /// <summary>A size, or 0 (written <c>0</c>) for a check that is off.</summary>
        public long SizeOrOff(string path)
        {
            string? text = Scalar(path, "a size such as 64M, or 0 for off");
            if (text is null) return 0;
            if (text.Trim() == "0") return 0;
            long? bytes = ParseSize(text);
            if (bytes is null or <= 0)
            {
                Fail(path, $"expected a size such as 64M or 64MiB, or 0 for off, got \"{text}\"");
                return 0;
            }

            return bytes.Value;
        }

        public TimeSpan Duration(string path)
        {
            string? text = Scalar(path, "a duration such as 5m");
            if (text is null) return TimeSpan.FromSeconds(1);
            TimeSpan? value = ParseDuration(text);
            if (value is null || value.Value <= TimeSpan.Zero)
            {
                Fail(path, $"expected a positive duration with a unit (ms, s, m, h, d), such as 30s or 5m, got \"{text}\"");
                return TimeSpan.FromSeconds(1);
            }

            return value.Value;
        }

        /// <summary>A duration where 0 (with or without a unit) means "off".</summary>
        public TimeSpan DurationOrZero(string path)
        {
            string? text = Scalar(path, "a duration such as 2s, or 0");
            if (text is null) return TimeSpan.Zero;
            if (text.Trim() == "0") return TimeSpan.Zero;
            TimeSpan? value = ParseDuration(text);
            if (value is null || value.Value < TimeSpan.Zero)
            {
                Fail(path, $"expected a duration with a unit (ms, s, m, h, d), such as 2s, or 0 for off, got \"{text}\"");
                return TimeSpan.Zero;
            }

            return value.Value;
        }

        /// <summary>A path; empty gives <paramref name="emptyMeans"/> (relative to nothing: already full).</summary>
        public string? Path(string path, string? emptyMeans)
        {
            string text = String(path, allowEmpty: emptyMeans is not null);
            if (text.Length == 0)
            {
                if (emptyMeans is not null) Note(path, emptyMeans);
                return emptyMeans;
            }

            try
            {
                string full = System.IO.Path.GetFullPath(text);
                if (full != text) Note(path, full);
                return full;
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                Fail(path, $"not a usable path: \"{text}\" ({e.Message})");
                return emptyMeans;
            }
        }

        /// <summary>Like <see cref="Path"/>, but "off" means null (disabled).</summary>
        public string? OptionalPath(string path, string? emptyMeans)
        {
            string text = String(path, allowEmpty: true);
            if (text.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) || (text.Length == 0 && emptyMeans is null))
            {
                return null;
            }

            return Path(path, emptyMeans);
        }

        public IReadOnlyList<string> StringList(string path)
        {
            var (source, value) = Find(path);
            _origins[path] = source;
            if (value is null)
            {
                Fail(path, "missing; expected a list of strings");
                return [];
            }

            if (!IsList(value))
            {
                Fail(path, $"expected a list of strings such as [\"a\", \"b\"], got {Shape(value)}");
                return [];
            }

            try
            {
                var items = new List<string>();
                foreach (HoconValue element in Elements(value))
                {
                    if (element.IsObject() || IsList(element) || !element.IsString() || element.GetString() is null)
                    {
                        Fail(path, $"expected a list of strings, found an element that is {Shape(element)}");
                        return [];
                    }

                    items.Add(element.GetString() ?? "");
                }

                return items;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Fail(path, $"expected a list of strings: {e.Message}");
                return [];
            }
        }

        public HostList HostList(string path)
        {
            var items = StringList(path);
            try
            {
                return Smtp.HostList.Parse(items);
            }
            catch (FormatException e)
            {
                Fail(path, e.Message);
                return Smtp.HostList.Empty;
            }
        }

        /// <summary>A domain list; "@" (or "!@") stands for the primary host name, as in Exim.</summary>
        public DomainList DomainList(string path, string primaryHostname)
        {
            var items = StringList(path)
                .Select(i => i.Trim() switch
                {
                    "@" => primaryHostname,
                    "!@" => "!" + primaryHostname,
                    _ => i,
                })
                .ToArray();
            try
            {
                return Smtp.DomainList.Parse(items);
            }
            catch (FormatException e)
            {
                Fail(path, e.Message);
                return Smtp.DomainList.Empty;
            }
        }

        public IReadOnlyList<string> Keywords(string path)
        {
            var items = StringList(path);
            foreach (string item in items)
            {
                if (!EhloKeyword().IsMatch(item)) Fail(path, $"not an EHLO keyword (letters, digits, '-'): \"{item}\"");
            }

            return items;
        }

        /// <summary>
        /// Any one of the three lists may be empty (a submission-only or TLS-on-connect-only node),
        /// not all of them: a daemon that listens nowhere is a mistake. Reported on actormta.listen
        /// unless one of the lists already has an error (its bad entry is the cause).
        /// </summary>
        public void NoListener()
        {
            string[] paths = ["actormta.listen", "actormta.listen-submission", "actormta.listen-tls-on-connect"];
            if (errors.Any(e => paths.Contains(e.Path))) return;
            Fail(paths[0], "at least one address to listen on is required, here or in actormta.listen-submission or "
                + "actormta.listen-tls-on-connect, e.g. [\"127.0.0.1:2525\"]");
        }

        public IReadOnlyList<ListenerSettings> Listeners(string path, ListenerKind kind = ListenerKind.Smtp)
        {
            var items = StringList(path);
            var result = new List<ListenerSettings>();
            foreach (string item in items)
            {
                IPEndPoint? endPoint = ParseEndPoint(item.Trim());
                if (endPoint is null)
                {
                    Fail(path, $"expected \"ip:port\" (IPv6 as \"[::1]:port\"), got \"{item}\"");
                    continue;
                }

                if (result.Any(l => l.EndPoint.Equals(endPoint) && endPoint.Port != 0))
                {
                    Fail(path, $"\"{item}\" is listed twice");
                    continue;
                }

                result.Add(new ListenerSettings(endPoint, kind));
            }

            return result;
        }

        private static IPEndPoint? ParseEndPoint(string text)
        {
            int colon = text.LastIndexOf(':');
            if (colon <= 0 || colon == text.Length - 1) return null;
            string host = text[..colon];
            string port = text[(colon + 1)..];
            if (!port.All(char.IsAsciiDigit) || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number > 65535)
            {
                return null;
            }

            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
                if (!host.Contains(':')) return null;
            }
            else if (host.Contains(':'))
            {
                return null; // IPv6 without brackets is ambiguous with the port
            }

            return IPAddress.TryParse(host, out IPAddress? address) ? new IPEndPoint(address, number) : null;
        }

        /// <summary>Unknown keys and sections replaced by values, in one user layer.</summary>
        public void CheckKeys(Source user)
        {
            HoconObject? top = RootObject(user.Config);
            HoconObject? referenceRoot = RootObject(reference.Config);
            if (top is null || referenceRoot is null) return;
            foreach (var (key, value) in top.Items)
            {
                if (key == "akka") continue;
                if (key != Root)
                {
                    errors.Add(new ConfigurationError(user.Location(key), key, $"unknown top-level key; expected \"{Root}\" or \"akka\"" + Suggest(key, [Root, "akka"])));
                    continue;
                }

                HoconValue referenceValue = referenceRoot.Items[Root];
                CheckObject(user, Root, value, referenceValue);
            }
        }

        private void CheckObject(Source user, string path, HoconValue value, HoconValue referenceValue)
        {
            if (!value.IsObject())
            {
                errors.Add(new ConfigurationError(user.Location(path), path, $"expected a section {{ ... }}, got {Shape(value)}"));
                return;
            }

            HoconObject obj = value.GetObject();
            HoconObject known = referenceValue.GetObject();
            foreach (var (key, child) in obj.Items)
            {
                string childPath = path + "." + key;
                if (!known.Items.TryGetValue(key, out HoconValue? referenceChild))
                {
                    errors.Add(new ConfigurationError(user.Location(childPath), childPath, "unknown key" + Suggest(key, known.Items.Keys)));
                    continue;
                }

                if (referenceChild.IsObject()) CheckObject(user, childPath, child, referenceChild);
            }
        }

        private static HoconObject? RootObject(AkkaConfig config)
        {
            if (config.IsEmpty || config.Root is null || !config.Root.IsObject()) return null;
            return config.Root.GetObject();
        }

        private static string Suggest(string key, IEnumerable<string> candidates)
        {
            string? best = null;
            int bestDistance = int.MaxValue;
            foreach (string candidate in candidates)
            {
                int d = Distance(key, candidate);
                if (d < bestDistance)
                {
                    bestDistance = d;
                    best = candidate;
                }
            }

            return best is not null && bestDistance <= Math.Max(2, key.Length / 4) ? $" (did you mean \"{best}\"?)" : "";
        }

        private static int Distance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++) previous[j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                    current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                }

                (previous, current) = (current, previous);
            }

            return previous[b.Length];
        }

        /// <summary>The effective actormta tree, in the order of reference.conf.</summary>
        public string Render()
        {
            var sb = new StringBuilder();
            sb.Append(Root).Append(" {\n");
            HoconObject? referenceRoot = RootObject(reference.Config);
            if (referenceRoot is not null) RenderObject(sb, Root, referenceRoot.Items[Root].GetObject(), 1);
            sb.Append("}\n");
            return sb.ToString();
        }

        private void RenderObject(StringBuilder sb, string path, HoconObject known, int depth)
        {
            string indent = new(' ', depth * 2);
            foreach (var (key, referenceValue) in known.Items)
            {
                string childPath = path + "." + key;
                if (referenceValue.IsObject())
                {
                    sb.Append(indent).Append(key).Append(" {\n");
                    RenderObject(sb, childPath, referenceValue.GetObject(), depth + 1);
                    sb.Append(indent).Append("}\n");
                    continue;
                }

                var (source, value) = Find(childPath);
                sb.Append(indent).Append(key).Append(" = ").Append(value is null ? "null" : RenderValue(value));
                var comments = new List<string>();
                if (!ReferenceEquals(source, reference)) comments.Add("from " + source.Location(childPath));
                if (_notes.TryGetValue(childPath, out string? note)) comments.Add("effective: " + note);
                if (comments.Count > 0) sb.Append("  # ").Append(string.Join("; ", comments));
                sb.Append('\n');
            }
        }

        private static string RenderValue(HoconValue value)
        {
            if (IsList(value))
            {
                try
                {
                    return "[" + string.Join(", ", Elements(value).Select(e => IsList(e) || e.IsObject() ? RenderValue(e) : Quote(Safe(e)))) + "]";
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    return value.ToString();
                }
            }

            if (value.IsObject()) return value.ToString();
            string text = Safe(value);
            return PlainValue().IsMatch(text) ? text : Quote(text);
        }

        private static string Quote(string text)
        {
            var sb = new StringBuilder("\"");
            foreach (char c in text)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\t': sb.Append("\\t"); break;
                    default: sb.Append(c); break;
                }
            }

            return sb.Append('"').ToString();
        }

        [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
        private static partial Regex PlainValue();

        [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]*$")]
        private static partial Regex EhloKeyword();

        /// <summary>Exim-style expansion: <c>$name</c>, <c>${name}</c>, <c>${op ...}</c>; group 2 is the name.</summary>
        [GeneratedRegex(@"\$(\{)?([A-Za-z_][A-Za-z0-9_]*)(\})?")]
        private static partial Regex Expansion();

        /// <summary>RFC 5321 Domain (underscores tolerated, as many MTAs do) or an address literal.</summary>
        [GeneratedRegex(@"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*|\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\])$")]
        private static partial Regex HeloSyntax();
    }

    /// <summary>
    /// A HOCON size: a number and an optional unit. K, M, G, T (also k/m/g/t, Ki/KiB, ...) are powers
    /// of 1024 as in Exim; kB, MB, GB, TB are powers of 1000 as in the HOCON specification.
    /// </summary>
    public static long? ParseSize(string text)
    {
        Match m = SizePattern().Match(text);
        if (!m.Success) return null;
        if (!decimal.TryParse(m.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number)) return null;
        string unit = m.Groups[2].Value;
        decimal? factor = unit switch
        {
            "" or "b" or "B" or "byte" or "bytes" => 1m,
            "k" or "K" or "Ki" or "KiB" or "kibibyte" or "kibibytes" => 1024m,
            "m" or "M" or "Mi" or "MiB" or "mebibyte" or "mebibytes" => 1024m * 1024,
            "g" or "G" or "Gi" or "GiB" or "gibibyte" or "gibibytes" => 1024m * 1024 * 1024,
            "t" or "T" or "Ti" or "TiB" or "tebibyte" or "tebibytes" => 1024m * 1024 * 1024 * 1024,
            "kB" or "kilobyte" or "kilobytes" => 1000m,
            "MB" or "megabyte" or "megabytes" => 1000m * 1000,
            "GB" or "gigabyte" or "gigabytes" => 1000m * 1000 * 1000,
            "TB" or "terabyte" or "terabytes" => 1000m * 1000 * 1000 * 1000,
            _ => null,
        };
        if (factor is null) return null;
        decimal bytes = number * factor.Value;
        if (bytes > long.MaxValue || bytes != decimal.Truncate(bytes)) return null;
        return (long)bytes;
    }

    /// <summary>A duration: a number and a unit (ms, s, m, h, d, or their long names).</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        Match m = DurationPattern().Match(text);
        if (!m.Success) return null;
        if (!double.TryParse(m.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number)) return null;
        double? seconds = m.Groups[2].Value switch
        {
            "ms" or "milli" or "millis" or "millisecond" or "milliseconds" => 0.001,
            "s" or "second" or "seconds" => 1,
            "m" or "minute" or "minutes" => 60,
            "h" or "hour" or "hours" => 3600,
            "d" or "day" or "days" => 86400,
            _ => null,
        };
        if (seconds is null) return null;
        double total = number * seconds.Value;
        if (double.IsNaN(total) || total > TimeSpan.MaxValue.TotalSeconds / 2) return null;
        return TimeSpan.FromSeconds(total);
    }

    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")]
    private static partial Regex SizePattern();

    [GeneratedRegex(@"at position (\d+)")]
    private static partial Regex AtPosition();

    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")]
    private static partial Regex DurationPattern();
}
