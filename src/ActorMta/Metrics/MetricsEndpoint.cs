using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ActorMta.Metrics;

/// <summary>
/// The operations endpoint on one address: <c>GET /metrics</c>, the ActorMta Meter in the
/// Prometheus text format written by OpenTelemetry's Prometheus exporter (its own HttpListener),
/// and <c>GET /health</c> from a <see cref="HealthListener"/> on the same IP and port.
/// </summary>
/// <remarks>
/// <para>
/// Exporter settings, and why: no response cache (a scrape shows what was recorded up to it; the
/// default 300 ms cache would hide it); no <c>otel_scope_*</c> labels and no <c>target_info</c>
/// family (one Meter, and <c>actormta_build_info</c> already names the version); every instrument
/// capped at <see cref="DefaultMaxSeriesPerInstrument"/> series through a view, beyond which
/// measurements land in one series labelled <c>otel_metric_overflow="true"</c>.
/// </para>
/// <para>
/// Bind it to loopback (the default 127.0.0.1:9464): there is no authentication. Port 0 picks a
/// free port (tests); <see cref="EndPoint"/> tells which. HttpListener cannot listen on one IPv6
/// address (its prefix parser rejects <c>[::1]</c>); 0.0.0.0 or [::] listen on every address.
/// </para>
/// </remarks>
public sealed class MetricsEndpoint : IDisposable, IAsyncDisposable
{
    /// <summary>The default address, 127.0.0.1:9464 (Prometheus's port for exporters of this kind).</summary>
    public static readonly IPEndPoint DefaultEndPoint = new(IPAddress.Loopback, 9464);

    /// <summary>The series cap per instrument unless told otherwise.</summary>
    public const int DefaultMaxSeriesPerInstrument = 200;

    private readonly MeterProvider _exporter;
    private readonly HealthListener _health;
    private int _disposed;

    private MetricsEndpoint(MeterProvider exporter, HealthListener health, IPEndPoint endPoint)
    {
        _exporter = exporter;
        _health = health;
        EndPoint = endPoint;
    }

    /// <summary>Where it listens (the real port when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary><c>http://host:port/</c>.</summary>
    public Uri BaseAddress => new($"http://{HostPart(EndPoint.Address)}:{EndPoint.Port}/");

    /// <summary>
    /// Starts exporting the ActorMta Meter and serving <c>/health</c> with <paramref name="checks"/>
    /// on <paramref name="endPoint"/>. Throws <see cref="HttpListenerException"/> if the address
    /// cannot be bound (in use, not on this machine).
    /// </summary>
    public static MetricsEndpoint Start(IPEndPoint endPoint, IReadOnlyList<HealthCheck> checks) =>
        Start(endPoint, checks, MtaMetrics.MeterName);

    /// <summary>Starts exporting the Meter named <paramref name="meterName"/> instead (tests use a Meter of their own).</summary>
    public static MetricsEndpoint Start(IPEndPoint endPoint, IReadOnlyList<HealthCheck> checks, string meterName,
        int maxSeriesPerInstrument = DefaultMaxSeriesPerInstrument)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentException.ThrowIfNullOrEmpty(meterName);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeriesPerInstrument, 1);
        // Every instrument exists before the exporter subscribes, so none is missed.
        MtaMetrics.EnsureCreated();
        // HttpListener cannot bind port 0: pick a free port and retry if someone takes it first.
        for (var attempt = 0; ; attempt++)
        {
            var port = endPoint.Port != 0 ? endPoint.Port : FreePort(endPoint.Address);
            var origin = $"http://{HostPart(endPoint.Address)}:{port}";
            MeterProvider exporter;
            try
            {
                exporter = StartExporter(origin, meterName, maxSeriesPerInstrument);
            }
            catch (HttpListenerException) when (endPoint.Port == 0 && attempt < 10)
            {
                continue;
            }
            HealthListener health;
            try
            {
                health = HealthListener.Start(origin, checks);
            }
            catch (HttpListenerException) when (endPoint.Port == 0 && attempt < 10)
            {
                // The picked port can be taken between the two binds as well (another test's
                // endpoint closing or opening there): try another one, as for the exporter.
                exporter.Dispose();
                continue;
            }
            catch
            {
                exporter.Dispose();
                throw;
            }
            return new MetricsEndpoint(exporter, health, new IPEndPoint(endPoint.Address, port));
        }
    }

    private static MeterProvider StartExporter(string origin, string meterName, int maxSeries)
    {
        try
        {
            return Sdk.CreateMeterProviderBuilder()
                .AddMeter(meterName)
                .AddView(_ => new MetricStreamConfiguration { CardinalityLimit = maxSeries })
                .AddPrometheusHttpListener(o =>
                {
                    o.ScrapeResponseCacheDurationMilliseconds = 0;
                    o.ScopeInfoEnabled = false;
                    o.TargetInfoEnabled = false;
                    // Its Host option goes through UriBuilder, which refuses "*" (any address):
                    // set the one prefix here instead, spelled exactly like the health listener's.
                    o.ConfigureHttpListener = (_, http) =>
                    {
                        http.Prefixes.Clear();
                        http.Prefixes.Add(origin + "/metrics/");
                    };
                })
                .Build();
        }
        catch (InvalidOperationException e) when (e.InnerException is HttpListenerException bind)
        {
            // "PrometheusExporter HttpListener could not be started." hides the reason: surface it.
            ExceptionDispatchInfo.Throw(bind);
            throw;
        }
    }

    /// <summary>Adds a check after start (e.g. once the listeners are bound).</summary>
    public void AddHealthCheck(HealthCheck check)
    {
        ArgumentNullException.ThrowIfNull(check);
        _health.Add(check);
    }

    private static string HostPart(IPAddress address)
    {
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return "*";
        return address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
    }

    private static int FreePort(IPAddress address)
    {
        var probe = new TcpListener(address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address.Equals(IPAddress.Any) ? IPAddress.Loopback : address, 0);
        probe.Start();
        try
        {
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        finally
        {
            probe.Stop();
        }
    }

    /// <summary>Stops exporting and listening; the port is free again afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _exporter.Dispose();
        _health.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
