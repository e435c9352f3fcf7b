using System.Net;
using ActorMta.Destinations;
using ActorMta.Routing;
using ActorMta.Smtp;

namespace ActorMta.Configuration;

/// <summary>
/// The whole <c>actormta { }</c> tree, typed and validated. Built once at start-up by
/// <see cref="SettingsLoader"/>; everything downstream reads these records, never HOCON.
/// Defaults live in the embedded <c>reference.conf</c>, not here, so there is one place to read them.
/// </summary>
public sealed record MtaSettings(
    string PrimaryHostname,
    string DataDirectory,
    SmtpServerSettings Smtp,
    IReadOnlyList<ListenerSettings> Listeners,
    PolicySettings Policy,
    SpoolSettings Spool,
    LocalDeliverySettings LocalDelivery,
    QueueSettings Queue,
    LogSettings Log)
{
    private readonly OutboundSettings? _outbound;
    private readonly RoutingSettings? _routing;

    /// <summary>The SMTP client; Exim-like defaults when the configuration says nothing.</summary>
    public OutboundSettings Outbound
    {
        get => _outbound ?? OutboundSettings.Default(PrimaryHostname);
        init => _outbound = value;
    }

    /// <summary>Routes (<c>actormta.routing</c>): local domains, smarthosts, then MX via DNS.</summary>
    public RoutingSettings Routing
    {
        get => _routing ?? new RoutingSettings(Policy.LocalDomains, [], [], TimeSpan.FromSeconds(5), 25, [], false);
        init => _routing = value;
    }

    /// <summary>Destination actors (<c>actormta.destinations</c>): connection budget, early-pipelining record age, host retry.</summary>
    public DestinationSettings Destinations { get; init; } = DestinationSettings.Default;

    /// <summary>
    /// Where destination state is persisted (<c>actormta.persistence</c>): by default a SQLite file
    /// under the data directory; a connection string and linq2db provider (e.g. PostgreSQL.15) for a cluster.
    /// </summary>
    public PersistenceSettings Persistence { get; init; } = PersistenceSettings.Embedded;

    /// <summary>Several nodes sharing their destinations (<c>actormta.cluster</c>); off by default.</summary>
    public ClusterSettings Cluster { get; init; } = ClusterSettings.Off;

    /// <summary>The operations endpoint (<c>actormta.metrics</c>): <c>/metrics</c> and <c>/health</c>; off by default.</summary>
    public MetricsSettings Metrics { get; init; } = MetricsSettings.Default;

    private readonly AuthSettings? _auth;

    /// <summary>SMTP AUTH on the server (<c>actormta.auth</c>): mechanisms, where offered, the users file, failure limits.</summary>
    public AuthSettings Auth
    {
        get => _auth ?? AuthSettings.Default(DataDirectory);
        init => _auth = value;
    }

    /// <summary>
    /// Server TLS (<c>actormta.tls</c>): certificate, protocols, who is offered STARTTLS. Settings
    /// built in code have none; reference.conf offers STARTTLS to everyone with a self-signed certificate.
    /// </summary>
    public TlsSettings Tls { get; init; } = TlsSettings.Disabled;

    /// <summary>
    /// The CPU scheduling policy <c>actormta run</c> gives its threads (<c>actormta.scheduling-policy</c>).
    /// Settings built in code leave the process alone; reference.conf says batch.
    /// </summary>
    public SchedulingPolicy SchedulingPolicy { get; init; } = SchedulingPolicy.Inherit;

    private readonly ControlSettings? _control;

    /// <summary>The control endpoint (<c>actormta.control</c>) for the queue and sendmail verbs; on, in the data directory, by default.</summary>
    public ControlSettings Control
    {
        get => _control ?? ControlSettings.Default(DataDirectory);
        init => _control = value;
    }
}

/// <summary>
/// <c>actormta.metrics</c>: the Prometheus endpoint (<c>GET /metrics</c>, OpenTelemetry's exporter) and
/// <c>GET /health</c> on one HTTP address, and how many destinations <c>actormta_destination_connections</c> names.
/// </summary>
/// <param name="Enabled">Start the endpoint (and the actor telemetry bridge).</param>
/// <param name="Address">Where it listens; no authentication, so loopback unless a firewall protects it. Port 0 picks a free port.
/// IPv4, or the IPv6 any-address: HttpListener cannot listen on one IPv6 address.</param>
/// <param name="TopDestinations">Destinations shown by name (the busiest); the rest are summed as destination="other".</param>
public sealed record MetricsSettings(bool Enabled, IPEndPoint Address, int TopDestinations)
{
    public static readonly MetricsSettings Default = new(false, new IPEndPoint(IPAddress.Loopback, 9464), 10);
}

/// <summary><c>actormta.persistence</c>: empty connection string = SQLite file <c>destinations.db</c> in the data directory.</summary>
public sealed record PersistenceSettings(string ConnectionString, string ProviderName)
{
    public static readonly PersistenceSettings Embedded = new("", "SQLite.MS");
}

/// <summary>What a listening socket speaks; one configuration list per kind.</summary>
public enum ListenerKind
{
    /// <summary><c>actormta.listen</c>: SMTP (port 25 style), STARTTLS offered when a certificate is configured.</summary>
    Smtp,

    /// <summary><c>actormta.listen-tls-on-connect</c>: TLS from the first byte (RFC 8314, port 465).</summary>
    TlsOnConnect,

    /// <summary><c>actormta.listen-submission</c>: message submission (RFC 6409, port 587), AUTH required before MAIL.</summary>
    Submission,
}

/// <summary>One listening socket, e.g. from <c>actormta.listen = ["127.0.0.1:2525", "[::1]:2525"]</c>.</summary>
public sealed record ListenerSettings(IPEndPoint EndPoint, ListenerKind Kind = ListenerKind.Smtp)
{
    /// <summary>Actor name under <c>/user/mta/listeners</c>; unique because one port has one kind.</summary>
    public string Name => Kind switch
    {
        ListenerKind.TlsOnConnect => $"smtps-{EndPoint.Port}",
        ListenerKind.Submission => $"submission-{EndPoint.Port}",
        _ => $"smtp-{EndPoint.Port}",
    };
}

/// <summary>How bare CR or LF inside message data is treated (<c>smtp.bare-line-endings</c>).</summary>
public enum BareLineEndingPolicy { Reject, Normalize }

/// <summary><c>actormta.smtp</c>: the inbound protocol and its limits.</summary>
public sealed record SmtpServerSettings(
    string Banner,
    HostList PipeliningAdvertiseHosts,
    HostList PipeliningConnectAdvertiseHosts,
    IReadOnlyList<string> PipeConnectKeywords,
    HostList ChunkingAdvertiseHosts,
    int MaxCommandLineLength,
    int MaxTextLineLength,
    long MaxMessageSize,
    int MaxRecipients,
    int MaxMessagesPerConnection,
    int MaxConnections,
    int MaxConnectionsPerIp,
    int MaxBadCommands,
    TimeSpan IdleTimeout,
    TimeSpan DataTimeout,
    BareLineEndingPolicy BareLineEndings)
{
    /// <summary><c>smtp.tcp-fastopen</c>: TFO queue length on the listening sockets (0: off). The kernel must allow it too.</summary>
    public int TcpFastOpenQueue { get; init; } = 256;

    /// <summary><c>smtp.max-data-in-memory</c>: message data all sessions together may hold while
    /// receiving; a message that would go over gets 452 4.3.1 after its data (0: no limit).</summary>
    public long MaxDataInMemory { get; init; } = 512L * 1024 * 1024;

    /// <summary><c>smtp.max-received-headers</c>: a message whose header section has more
    /// <c>Received:</c> fields is refused after its data as a mail loop (RFC 5321 section 6.3).</summary>
    public int MaxReceivedHeaders { get; init; } = 100;

    /// <summary><c>smtp.drain-timeout</c>: when the MTA stops, how long clients in the middle of a
    /// message may take to finish it (each then gets its reply and a 421); clients between messages
    /// get the 421 at once. Zero: everyone at once.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary><c>actormta.policy</c>: who may send what where. Never an open relay.</summary>
public sealed record PolicySettings(
    DomainList LocalDomains,
    DomainList RelayToDomains,
    HostList RelayFromHosts,
    IReadOnlySet<string> LocalUsers);

/// <summary><c>actormta.spool</c>.</summary>
public sealed record SpoolSettings(string Directory, bool Fsync)
{
    /// <summary><c>spool.write-ahead-log</c>: accepted messages made durable by one shared log flush
    /// per batch instead of two flushes each (see <c>SpoolLog</c>). Only with fsync on.</summary>
    public bool WriteAheadLog { get; init; } = true;

    /// <summary><c>spool.log-segment-size</c>: a log segment is checkpointed once it holds this many bytes.</summary>
    public long LogSegmentSize { get; init; } = 16 * 1024 * 1024;

    /// <summary><c>spool.log-checkpoint-interval</c>: ... or once its oldest record is this old.</summary>
    public TimeSpan LogCheckpointInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary><c>spool.log-retention</c>: a message still queued this long after its log segment
    /// was written gets its own file, and the segment is retired.</summary>
    public TimeSpan LogRetention { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary><c>spool.log-size-limit</c>: ... or sooner, once the sealed segments hold this many bytes.</summary>
    public long LogSizeLimit { get; init; } = 256L * 1024 * 1024;

    /// <summary><c>spool.min-free-space</c>: MAIL is refused (452 4.3.1) while the spool's file
    /// system has less free than this plus the declared SIZE (Exim's check_spool_space); 0: off.</summary>
    public long MinFreeSpace { get; init; } = 64L * 1024 * 1024;
}

/// <summary><c>actormta.queue</c>: retry schedule for messages that cannot be delivered now.</summary>
public sealed partial record QueueSettings(TimeSpan RetryInterval, TimeSpan MaxRetryTime, int LocalDeliveryParallelism)
{
    /// <summary><c>queue.retry</c> (Exim's retry rules) and <c>queue.parallel-attempts</c>.</summary>
    public ActorMta.Queue.QueueTuning Tuning { get; init; } = ActorMta.Queue.QueueTuning.Default;
}

/// <summary><c>actormta.log</c>.</summary>
public sealed record LogSettings(string? MainLogPath, string? JsonLogPath, bool Console, bool LogPipelining);

/// <summary>
/// <c>actormta.outbound</c>: the SMTP client (the "remote_smtp" transport). Option names follow
/// Exim's smtp transport where one exists (<c>hosts-pipe-connect</c>, <c>hosts-try-fastopen</c>).
/// </summary>
public sealed partial record OutboundSettings(
    string HeloName,
    HostList HostsPipeConnect,
    HostList HostsTryFastOpen,
    bool UseChunking,
    int MaxMessagesPerConnection,
    TimeSpan ConnectTimeout,
    TimeSpan CommandTimeout,
    TimeSpan DataTimeout,
    TimeSpan AttemptDeadline,
    int Port)
{
    /// <summary>STARTTLS, TLS on connect and the per-host TLS policy (keys in <c>actormta.outbound</c>).</summary>
    public OutboundTlsSettings Tls { get; init; } = OutboundTlsSettings.Default;

    /// <summary>Exim-like defaults; <c>hosts-pipe-connect</c> is unset (nobody) as in Exim.</summary>
    public static OutboundSettings Default(string heloName) => new(
        HeloName: heloName,
        HostsPipeConnect: HostList.Empty,
        HostsTryFastOpen: HostList.Empty,
        UseChunking: true,
        MaxMessagesPerConnection: 100,
        ConnectTimeout: TimeSpan.FromMinutes(1),
        CommandTimeout: TimeSpan.FromMinutes(5),
        DataTimeout: TimeSpan.FromMinutes(10),
        AttemptDeadline: TimeSpan.FromMinutes(30),
        Port: 25);
}
