using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Akka.Actor;

namespace ActorMta.Metrics;

/// <summary>Why a listener refused a connection. A fixed set, so it can be a label.</summary>
public enum RefuseReason
{
    /// <summary>The listener's connection limit was reached.</summary>
    ConnectionLimit,
    /// <summary>Too many connections from the same client host.</summary>
    PerHostLimit,
    /// <summary>The host is not allowed to connect (host list, policy).</summary>
    Policy,
    /// <summary>The MTA is shutting down.</summary>
    ShuttingDown,
    /// <summary>Anything else.</summary>
    Other,
}

/// <summary>How a message was delivered (or deferred, or bounced).</summary>
public enum DeliveryKind
{
    /// <summary>Into a local maildir.</summary>
    Local,
    /// <summary>Over SMTP to a remote host (MX or smarthost).</summary>
    Smtp,
}

/// <summary>Why an early-pipelining (PIPECONNECT) attempt fell back to lock-step.</summary>
public enum EarlyFallbackReason
{
    /// <summary>The banner was not the expected 220 or did not match the record.</summary>
    Banner,
    /// <summary>The EHLO reply no longer offers PIPECONNECT or differs from the record.</summary>
    Ehlo,
    /// <summary>The connection failed during the early flight; reconnected without it.</summary>
    ConnectionLost,
    /// <summary>Anything else.</summary>
    Other,
}

/// <summary>Which side of a TLS handshake we were.</summary>
public enum TlsSide
{
    /// <summary>We were the server (STARTTLS on a listener).</summary>
    Inbound,
    /// <summary>We were the client (STARTTLS to a remote host).</summary>
    Outbound,
}

/// <summary>
/// All of ActorMta's metrics: one <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="MeterName"/>, its instruments private, and small methods the engine calls.
/// <para>
/// Cost when nothing listens (metrics off): every method is a field load and a branch (the
/// instruments' <c>Enabled</c> is false), no clock read and no allocation. When the exporter
/// listens, a call is the OpenTelemetry SDK updating one series in place; nothing allocates, because
/// label values come from fixed sets (enum name tables, listener names from configuration, actor
/// kinds named in code).
/// </para>
/// <para>
/// Cardinality: no method takes a domain, an address or a message id. Per-destination numbers go
/// through <see cref="DestinationLeaseAcquired"/>, which the exporter shows as the top N
/// destinations and one <c>destination="other"</c> series (see <see cref="DestinationConnectionTracker"/>).
/// The exporter also caps every instrument's series (<see cref="MetricsEndpoint.DefaultMaxSeriesPerInstrument"/>).
/// </para>
/// </summary>
public static class MtaMetrics
{
    /// <summary>The Meter's name, for anything that wants to subscribe (OpenTelemetry, dotnet-counters).</summary>
    public const string MeterName = "ActorMta";

    private static readonly string Version =
        typeof(MtaMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(MtaMetrics).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>The Meter itself. Internal so nothing outside the folder creates instruments on it ad hoc.</summary>
    internal static readonly Meter Meter = new(MeterName, Version);

    // Label value tables: indexing an array by enum never allocates (Enum.ToString would).
    private static readonly string[] RefuseReasons = ["connection_limit", "per_host_limit", "policy", "shutting_down", "other"];
    private static readonly string[] DeliveryKinds = ["local", "smtp"];
    private static readonly string[] FallbackReasons = ["banner", "ehlo", "connection_lost", "other"];
    private static readonly string[] TlsSides = ["inbound", "outbound"];

    /// <summary>Bucket bounds (seconds) for message processing time inside one actor.</summary>
    public static readonly IReadOnlyList<double> ProcessingBuckets =
        [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1];

    /// <summary>Bucket bounds (seconds) for TLS handshakes.</summary>
    public static readonly IReadOnlyList<double> HandshakeBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

    /// <summary>Bucket bounds (bytes) for received message sizes.</summary>
    public static readonly IReadOnlyList<double> SizeBuckets =
        [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    // --- Connections -------------------------------------------------------------------------

    private static readonly Counter<long> ConnectionsAccepted = Meter.CreateCounter<long>(
        "actormta_connections_accepted", "{connection}", "SMTP connections accepted, per listener.");

    private static readonly Counter<long> ConnectionsRefused = Meter.CreateCounter<long>(
        "actormta_connections_refused", "{connection}", "SMTP connections refused, per listener and reason.");

    private static readonly UpDownCounter<long> ConnectionsOpen = Meter.CreateUpDownCounter<long>(
        "actormta_connections_open", "{connection}", "SMTP connections open now, per listener.");

    /// <summary>A listener accepted a connection (count it and count it as open).</summary>
    public static void ConnectionOpened(string listener)
    {
        if (ConnectionsAccepted.Enabled) ConnectionsAccepted.Add(1, new KeyValuePair<string, object?>("listener", listener));
        if (ConnectionsOpen.Enabled) ConnectionsOpen.Add(1, new KeyValuePair<string, object?>("listener", listener));
    }

    /// <summary>A connection counted by <see cref="ConnectionOpened"/> ended (any way).</summary>
    public static void ConnectionClosed(string listener)
    {
        if (ConnectionsOpen.Enabled) ConnectionsOpen.Add(-1, new KeyValuePair<string, object?>("listener", listener));
    }

    /// <summary>A listener refused a connection (it is not counted as opened).</summary>
    public static void ConnectionRefused(string listener, RefuseReason reason)
    {
        if (ConnectionsRefused.Enabled)
            ConnectionsRefused.Add(1,
                new KeyValuePair<string, object?>("listener", listener),
                new KeyValuePair<string, object?>("reason", RefuseReasons[(int)reason]));
    }

    // --- Messages ----------------------------------------------------------------------------

    private static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>(
        "actormta_messages_received", "{message}", "Messages received and spooled (each 250 after DATA/BDAT LAST), per listener.");

    private static readonly Counter<long> BytesReceived = Meter.CreateCounter<long>(
        "actormta_received_bytes", "By", "Bytes of message data spooled, per listener.");

    private static readonly Histogram<long> MessageSize = Meter.CreateHistogram<long>(
        "actormta_message_size_bytes", "By", "Sizes of received messages.",
        tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [.. SizeBuckets.Select(b => (long)b)] });

    private static readonly Counter<long> Delivered = Meter.CreateCounter<long>(
        "actormta_deliveries_succeeded", "{delivery}", "Recipient deliveries that succeeded (one per => line), per transport.");

    private static readonly Counter<long> Deferred = Meter.CreateCounter<long>(
        "actormta_deliveries_deferred", "{delivery}", "Recipient deliveries deferred for a retry (one per == line), per transport.");

    private static readonly Counter<long> Bounced = Meter.CreateCounter<long>(
        "actormta_deliveries_bounced", "{delivery}", "Recipient deliveries failed for good (one per ** line), per transport.");

    /// <summary>A message was made durable and acknowledged with 250.</summary>
    public static void MessageReceived(string listener, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("listener", listener);
        if (MessagesReceived.Enabled) MessagesReceived.Add(1, tag);
        if (BytesReceived.Enabled) BytesReceived.Add(bytes, tag);
        if (MessageSize.Enabled) MessageSize.Record(bytes);
    }

    /// <summary>One recipient was delivered (the main log's <c>=&gt;</c>).</summary>
    public static void MessageDelivered(DeliveryKind kind)
    {
        if (Delivered.Enabled) Delivered.Add(1, new KeyValuePair<string, object?>("transport", DeliveryKinds[(int)kind]));
    }

    /// <summary>One recipient was deferred (the main log's <c>==</c>).</summary>
    public static void MessageDeferred(DeliveryKind kind)
    {
        if (Deferred.Enabled) Deferred.Add(1, new KeyValuePair<string, object?>("transport", DeliveryKinds[(int)kind]));
    }

    /// <summary>One recipient failed permanently (the main log's <c>**</c>).</summary>
    public static void MessageBounced(DeliveryKind kind)
    {
        if (Bounced.Enabled) Bounced.Add(1, new KeyValuePair<string, object?>("transport", DeliveryKinds[(int)kind]));
    }

    // --- Queue -------------------------------------------------------------------------------

    // Written by the queue manager, read by the scrape: plain longs with Volatile, no locks.
    private static long s_queueMessages = -1;           // -1: no queue reported yet (gauges then report nothing)
    private static long s_queueOldestArrivalTicks;      // UTC ticks; 0 when the queue is empty

    private static readonly ObservableGauge<long> QueueMessages = Meter.CreateObservableGauge(
        "actormta_queue_messages", ObserveQueueMessages, "{message}", "Messages in the queue (spooled, not yet completed).");

    private static readonly ObservableGauge<double> QueueOldestAge = Meter.CreateObservableGauge(
        "actormta_queue_oldest_message_age_seconds", ObserveQueueOldestAge, "s", "Age of the oldest message in the queue; 0 when it is empty.");

    /// <summary>
    /// The queue manager reports its size and the arrival time of its oldest message whenever they
    /// change (cheap: two volatile writes). The age is computed at scrape time.
    /// </summary>
    public static void QueueChanged(int messages, DateTimeOffset? oldestArrival)
    {
        Volatile.Write(ref s_queueOldestArrivalTicks, messages > 0 && oldestArrival is { } t ? t.UtcTicks : 0);
        Volatile.Write(ref s_queueMessages, messages);
    }

    private static IEnumerable<Measurement<long>> ObserveQueueMessages()
    {
        var n = Volatile.Read(ref s_queueMessages);
        return n < 0 ? [] : [new Measurement<long>(n)];
    }

    private static IEnumerable<Measurement<double>> ObserveQueueOldestAge()
    {
        if (Volatile.Read(ref s_queueMessages) < 0) return [];
        var ticks = Volatile.Read(ref s_queueOldestArrivalTicks);
        var age = ticks == 0 ? 0 : Math.Max(0, (DateTime.UtcNow.Ticks - ticks) / (double)TimeSpan.TicksPerSecond);
        return [new Measurement<double>(age)];
    }

    // --- Destinations ------------------------------------------------------------------------

    /// <summary>The per-destination connection counts behind <c>actormta_destination_connections</c>.</summary>
    internal static readonly DestinationConnectionTracker Destinations = new();

    private static readonly ObservableGauge<long> DestinationConnections = Meter.CreateObservableGauge(
        "actormta_destination_connections", () => Destinations.Observe(), "{connection}",
        "Outbound connections in use per destination: the top N destinations by name, the rest summed as destination=\"other\".");

    private static readonly ObservableGauge<long> DestinationsActive = Meter.CreateObservableGauge(
        "actormta_destinations_active", () => Destinations.ObserveActive(), "{destination}",
        "Destinations with at least one outbound connection in use.");

    /// <summary>
    /// How many destinations are shown by name in <c>actormta_destination_connections</c>
    /// (the busiest ones); the others are summed in <c>destination="other"</c>. 0 shows only "other".
    /// </summary>
    public static int TopDestinations
    {
        get => Destinations.TopN;
        set => Destinations.TopN = value;
    }

    /// <summary>An outbound connection to <paramref name="destination"/> (e.g. "192.0.2.1:25") is now in use.</summary>
    public static void DestinationLeaseAcquired(string destination)
    {
        if (DestinationConnections.Enabled) Destinations.Add(destination, 1);
    }

    /// <summary>An outbound connection counted by <see cref="DestinationLeaseAcquired"/> is no longer in use.</summary>
    public static void DestinationLeaseReleased(string destination)
    {
        if (DestinationConnections.Enabled) Destinations.Add(destination, -1);
    }

    private static readonly Counter<long> DestinationStoreFailures = Meter.CreateCounter<long>(
        "actormta_destination_store_failures", "{failure}",
        "Reads or writes of the destinations' store that failed; destinations are then kept in memory for destinations.store-retry-interval.");

    /// <summary>A destination could not recover from, or write to, the store.</summary>
    public static void DestinationStoreFailed() { if (DestinationStoreFailures.Enabled) DestinationStoreFailures.Add(1); }

    // --- Early pipelining (PIPECONNECT) -------------------------------------------------------

    private static readonly Counter<long> EarlyRecordHits = Meter.CreateCounter<long>(
        "actormta_early_pipe_record_hits", "{lookup}", "Outbound connections that found a usable early-pipelining record for their destination.");

    private static readonly Counter<long> EarlyRecordMisses = Meter.CreateCounter<long>(
        "actormta_early_pipe_record_misses", "{lookup}", "Outbound connections that found no usable early-pipelining record.");

    private static readonly Counter<long> EarlyRecordInvalidations = Meter.CreateCounter<long>(
        "actormta_early_pipe_record_invalidations", "{record}", "Early-pipelining records dropped because the destination changed or failed.");

    private static readonly Counter<long> EarlyFlights = Meter.CreateCounter<long>(
        "actormta_early_flights_sent", "{flight}", "Early-pipelining flights sent before the banner.");

    private static readonly Counter<long> EarlyFallbacks = Meter.CreateCounter<long>(
        "actormta_early_fallbacks", "{flight}", "Early flights that fell back to lock-step, per reason.");

    private static readonly Counter<long> InboundEarly = Meter.CreateCounter<long>(
        "actormta_inbound_early_pipelining", "{session}", "Inbound sessions whose client pipelined early (input queued behind EHLO before the banner), per listener.");

    /// <summary>An outbound connection found a usable early-pipelining record.</summary>
    public static void EarlyPipeRecordHit() { if (EarlyRecordHits.Enabled) EarlyRecordHits.Add(1); }

    /// <summary>An outbound connection found no usable early-pipelining record.</summary>
    public static void EarlyPipeRecordMiss() { if (EarlyRecordMisses.Enabled) EarlyRecordMisses.Add(1); }

    /// <summary>A destination dropped its early-pipelining record.</summary>
    public static void EarlyPipeRecordInvalidated() { if (EarlyRecordInvalidations.Enabled) EarlyRecordInvalidations.Add(1); }

    /// <summary>An early flight (banner, EHLO and commands written ahead) was sent.</summary>
    public static void EarlyFlightSent() { if (EarlyFlights.Enabled) EarlyFlights.Add(1); }

    /// <summary>An early flight fell back to lock-step.</summary>
    public static void EarlyFallback(EarlyFallbackReason reason)
    {
        if (EarlyFallbacks.Enabled) EarlyFallbacks.Add(1, new KeyValuePair<string, object?>("reason", FallbackReasons[(int)reason]));
    }

    /// <summary>An inbound client used early pipelining (Exim's "early pipelining" on the server side).</summary>
    public static void InboundEarlyPipelining(string listener)
    {
        if (InboundEarly.Enabled) InboundEarly.Add(1, new KeyValuePair<string, object?>("listener", listener));
    }

    // --- TLS ---------------------------------------------------------------------------------

    private static readonly Counter<long> TlsHandshakes = Meter.CreateCounter<long>(
        "actormta_tls_handshakes", "{handshake}", "TLS handshakes, per side and result.");

    private static readonly Histogram<double> TlsHandshakeTime = Meter.CreateHistogram<double>(
        "actormta_tls_handshake_duration_seconds", "s", "Time taken by successful TLS handshakes, per side.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = HandshakeBuckets });

    /// <summary>
    /// A TLS handshake ended. Take <paramref name="startTimestamp"/> from <see cref="Stopwatch.GetTimestamp"/>
    /// before it began; pass 0 if it was not measured.
    /// </summary>
    public static void TlsHandshake(TlsSide side, bool succeeded, long startTimestamp = 0)
    {
        if (TlsHandshakes.Enabled)
            TlsHandshakes.Add(1,
                new KeyValuePair<string, object?>("side", TlsSides[(int)side]),
                new KeyValuePair<string, object?>("result", succeeded ? "ok" : "failed"));
        if (succeeded && startTimestamp != 0 && TlsHandshakeTime.Enabled)
            TlsHandshakeTime.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>("side", TlsSides[(int)side]));
    }

    // --- Actors ------------------------------------------------------------------------------

    internal static readonly UpDownCounter<long> ActorsLive = Meter.CreateUpDownCounter<long>(
        "actormta_actors_live", "{actor}", "Live actors per kind (from Akka's actor telemetry).");

    internal static readonly Counter<long> ActorsStarted = Meter.CreateCounter<long>(
        "actormta_actors_started", "{actor}", "Actors started per kind (from Akka's actor telemetry).");

    internal static readonly Counter<long> ActorsStopped = Meter.CreateCounter<long>(
        "actormta_actors_stopped", "{actor}", "Actors stopped per kind (from Akka's actor telemetry).");

    internal static readonly Counter<long> ActorsRestarted = Meter.CreateCounter<long>(
        "actormta_actors_restarted", "{restart}", "Actor restarts (crashes handled by a supervisor) per kind.");

    internal static readonly Counter<long> ActorMessages = Meter.CreateCounter<long>(
        "actormta_actor_messages_processed", "{message}", "Messages processed per actor kind (where the actor measures its receive).");

    internal static readonly Histogram<double> ActorProcessingTime = Meter.CreateHistogram<double>(
        "actormta_actor_processing_duration_seconds", "s", "Time spent processing one message, per actor kind.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ProcessingBuckets });

    internal static readonly MailboxSampler Mailboxes = new();

    private static readonly ObservableGauge<long> MailboxDepth = Meter.CreateObservableGauge(
        "actormta_actor_mailbox_depth", () => Mailboxes.Observe(), "{message}",
        "Messages waiting in the mailbox of singleton actors, sampled at scrape time.");

    /// <summary>
    /// Measures one message of an actor of <paramref name="kind"/> (a constant such as
    /// "InboundSession"): <c>using var _ = MtaMetrics.Processing("InboundSession");</c> at the top of
    /// <c>OnReceive</c>. A struct: no allocation; when metrics are off, not even a clock read.
    /// </summary>
    public static ProcessingTimer Processing(string kind) =>
        ActorProcessingTime.Enabled || ActorMessages.Enabled ? new ProcessingTimer(kind, Stopwatch.GetTimestamp()) : default;

    internal static void RecordProcessing(string kind, long startTimestamp)
    {
        var tag = new KeyValuePair<string, object?>("kind", kind);
        ActorMessages.Add(1, tag);
        ActorProcessingTime.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tag);
    }

    /// <summary>
    /// Samples the mailbox depth of <paramref name="actor"/> (a singleton such as the queue manager)
    /// at every scrape, labelled <paramref name="kind"/>. Call from the actor's <c>PreStart</c> with
    /// <c>Self</c> and dispose the result in <c>PostStop</c>. Only local actors have a mailbox to
    /// read; for others the registration does nothing.
    /// </summary>
    public static IDisposable SampleMailbox(string kind, IActorRef actor) => Mailboxes.Register(kind, actor);

    // --- Cluster -----------------------------------------------------------------------------

    // Set by a cluster node at start: the members it sees, counted by status ("up", "unreachable", ...).
    private static Func<IReadOnlyDictionary<string, int>>? s_clusterMembers;

    private static readonly ObservableGauge<long> ClusterMembers = Meter.CreateObservableGauge(
        "actormta_cluster_members", ObserveClusterMembers, "{node}",
        "Cluster members this node sees, by status (up, joining, leaving, exiting, down, unreachable); none on a single node.");

    /// <summary>A cluster node's members by status, read at every scrape; null when the node stops.</summary>
    public static void ObserveCluster(Func<IReadOnlyDictionary<string, int>>? members) => Volatile.Write(ref s_clusterMembers, members);

    private static IEnumerable<Measurement<long>> ObserveClusterMembers() =>
        Volatile.Read(ref s_clusterMembers)?.Invoke().Select(m => new Measurement<long>(m.Value, new KeyValuePair<string, object?>("status", m.Key))) ?? [];

    // --- Build -------------------------------------------------------------------------------

    private static readonly ObservableGauge<long> BuildInfo = Meter.CreateObservableGauge(
        "actormta_build_info", () => new Measurement<long>(1, new KeyValuePair<string, object?>("version", Version)),
        null, "Always 1; the version label is the running ActorMta version.");

    /// <summary>Touches every static field so that all instruments exist before a listener subscribes.</summary>
    internal static void EnsureCreated()
    {
        GC.KeepAlive(QueueMessages);
        GC.KeepAlive(QueueOldestAge);
        GC.KeepAlive(DestinationsActive);
        GC.KeepAlive(MailboxDepth);
        GC.KeepAlive(BuildInfo);
        GC.KeepAlive(ClusterMembers);
    }
}

/// <summary>
/// The timer returned by <see cref="MtaMetrics.Processing"/>; records the message and its duration
/// when disposed. A default instance (metrics off) does nothing.
/// </summary>
public readonly struct ProcessingTimer : IDisposable
{
    private readonly string? _kind;
    private readonly long _start;

    internal ProcessingTimer(string kind, long start)
    {
        _kind = kind;
        _start = start;
    }

    /// <summary>Records the processed message and the time since the timer was created.</summary>
    public void Dispose()
    {
        if (_kind is not null) MtaMetrics.RecordProcessing(_kind, _start);
    }
}
