namespace ActorMta.Metrics;

/// <summary>
/// Metrics and health for operators: what is exported, where it comes from, and how it is wired.
/// </summary>
/// <remarks>
/// <para><b>Shape.</b> One <see cref="System.Diagnostics.Metrics.Meter"/> named "ActorMta"
/// (<see cref="MtaMetrics"/>). The engine calls small methods on <see cref="MtaMetrics"/>;
/// OpenTelemetry's SDK aggregates and its Prometheus exporter (package
/// OpenTelemetry.Exporter.Prometheus.HttpListener, pre-release only) serves the text format at
/// <c>GET /metrics</c>; <see cref="HealthListener"/> serves <c>GET /health</c> on the same IP and
/// port (default 127.0.0.1:9464). <see cref="MetricsEndpoint"/> starts and stops both. Any other
/// Meter consumer (dotnet-counters) can subscribe to "ActorMta" as well.</para>
///
/// <para><b>Families</b> (counters end in <c>_total</c>; labels in braces; every label takes values
/// from a small fixed set):</para>
/// <list type="table">
/// <listheader><term>family</term><description>recorded by</description></listheader>
/// <item><term>actormta_connections_accepted_total{listener}</term><description><see cref="MtaMetrics.ConnectionOpened"/></description></item>
/// <item><term>actormta_connections_open{listener}</term><description><see cref="MtaMetrics.ConnectionOpened"/> / <see cref="MtaMetrics.ConnectionClosed"/></description></item>
/// <item><term>actormta_connections_refused_total{listener,reason}</term><description><see cref="MtaMetrics.ConnectionRefused"/> (<see cref="RefuseReason"/>)</description></item>
/// <item><term>actormta_messages_received_total{listener}, actormta_received_bytes_total{listener}, actormta_message_size_bytes (histogram)</term><description><see cref="MtaMetrics.MessageReceived"/></description></item>
/// <item><term>actormta_deliveries_succeeded_total / _deferred_total / _bounced_total {transport}</term><description><see cref="MtaMetrics.MessageDelivered"/>, <see cref="MtaMetrics.MessageDeferred"/>, <see cref="MtaMetrics.MessageBounced"/>: one per recipient, like the main log's =&gt;, ==, ** lines</description></item>
/// <item><term>actormta_queue_messages, actormta_queue_oldest_message_age_seconds</term><description><see cref="MtaMetrics.QueueChanged"/> (the age is computed at scrape time)</description></item>
/// <item><term>actormta_destination_connections{destination}, actormta_destinations_active</term><description><see cref="MtaMetrics.DestinationLeaseAcquired"/> / <see cref="MtaMetrics.DestinationLeaseReleased"/>; top <see cref="MtaMetrics.TopDestinations"/> by name plus destination="other"</description></item>
/// <item><term>actormta_early_pipe_record_hits_total / _misses_total / _invalidations_total</term><description><see cref="MtaMetrics.EarlyPipeRecordHit"/>, <see cref="MtaMetrics.EarlyPipeRecordMiss"/>, <see cref="MtaMetrics.EarlyPipeRecordInvalidated"/></description></item>
/// <item><term>actormta_early_flights_sent_total, actormta_early_fallbacks_total{reason}</term><description><see cref="MtaMetrics.EarlyFlightSent"/>, <see cref="MtaMetrics.EarlyFallback"/></description></item>
/// <item><term>actormta_inbound_early_pipelining_total{listener}</term><description><see cref="MtaMetrics.InboundEarlyPipelining"/></description></item>
/// <item><term>actormta_tls_handshakes_total{side,result}, actormta_tls_handshake_duration_seconds{side}</term><description><see cref="MtaMetrics.TlsHandshake"/></description></item>
/// <item><term>actormta_actors_live / _started_total / _stopped_total / _restarted_total {kind}</term><description><see cref="ActorTelemetryBridge"/> from Akka's lifecycle telemetry</description></item>
/// <item><term>actormta_actor_messages_processed_total{kind}, actormta_actor_processing_duration_seconds{kind}</term><description><see cref="MtaMetrics.Processing"/> around an actor's receive</description></item>
/// <item><term>actormta_actor_mailbox_depth{kind}</term><description><see cref="MtaMetrics.SampleMailbox"/> for singletons, read at scrape time</description></item>
/// <item><term>actormta_build_info{version}</term><description>always 1</description></item>
/// </list>
///
/// <para><b>Cardinality.</b> No method takes a domain, an address or a message id; per-destination
/// numbers are a capped top N; and the exporter caps every instrument at
/// <see cref="MetricsEndpoint.DefaultMaxSeriesPerInstrument"/> series, beyond which measurements
/// land in one <c>otel_metric_overflow="true"</c> series.</para>
///
/// <para><b>Cost.</b> With metrics off nothing listens: each call is a branch on the instrument's
/// <c>Enabled</c>, with no clock read and no allocation. With metrics on, the OpenTelemetry SDK
/// updates one series in place and allocates nothing once the series exists (a test checks).</para>
///
/// <para><b>Process-wide.</b> The Meter and the queue and destination figures are static: two MTA
/// nodes in one process (tests) share them.</para>
/// </remarks>
internal static class NamespaceDoc
{
}
