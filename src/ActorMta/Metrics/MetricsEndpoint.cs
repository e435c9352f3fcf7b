using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace ActorMta.Metrics;

/// <summary>
/// One health check for <c>/health</c>: a name ("listeners bound", "spool writable") and a function
/// that says whether it passes and, if not, why. It runs on the HTTP request's thread, so it must be
/// thread-safe and quick (read a flag, touch a file); an exception counts as a failure.
/// </summary>
public sealed record HealthCheck(string Name, Func<(bool Ok, string Reason)> Check);

/// <summary>
/// The operations endpoint: <c>GET /metrics</c> (Prometheus text format 0.0.4 from a
/// <see cref="MetricsCollector"/>) and <c>GET /health</c> (200 <c>{"status":"ok"}</c> when every
/// check passes, else 503 <c>{"status":"fail","reason":"NAME: WHY; ..."}</c>) on one
/// <see cref="HttpListener"/>. <c>HEAD</c> works on both; other paths are 404, other methods 405.
/// </summary>
/// <remarks>
/// Bind it to loopback (the default 127.0.0.1:9464): there is no authentication. Port 0 picks a
/// free port (tests); <see cref="EndPoint"/> tells which.
/// </remarks>
public sealed class MetricsEndpoint : IDisposable, IAsyncDisposable
{
    /// <summary>The default address, 127.0.0.1:9464 (Prometheus's port for exporters of this kind).</summary>
    public static readonly IPEndPoint DefaultEndPoint = new(IPAddress.Loopback, 9464);

    private readonly HttpListener _http;
    private readonly MetricsCollector _collector;
    private readonly bool _ownsCollector;
    private readonly object _checksGate = new();
    private readonly List<HealthCheck> _checks;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    private MetricsEndpoint(HttpListener http, IPEndPoint endPoint, MetricsCollector collector, bool ownsCollector, IEnumerable<HealthCheck> checks)
    {
        _http = http;
        EndPoint = endPoint;
        _collector = collector;
        _ownsCollector = ownsCollector;
        _checks = [.. checks];
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where it listens (the real port when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary><c>http://host:port/</c>.</summary>
    public Uri BaseAddress => new($"http://{HostPart(EndPoint.Address)}:{EndPoint.Port}/");

    /// <summary>The collector behind <c>/metrics</c>.</summary>
    public MetricsCollector Collector => _collector;

    /// <summary>
    /// Starts listening on <paramref name="endPoint"/> with its own collector over the ActorMta Meter.
    /// Throws <see cref="HttpListenerException"/> if the address cannot be bound.
    /// </summary>
    public static MetricsEndpoint Start(IPEndPoint endPoint, IReadOnlyList<HealthCheck> checks) =>
        Start(endPoint, checks, new MetricsCollector(), ownsCollector: true);

    /// <summary>Starts listening with a collector the caller owns (tests use one over their own Meter).</summary>
    public static MetricsEndpoint Start(IPEndPoint endPoint, IReadOnlyList<HealthCheck> checks, MetricsCollector collector) =>
        Start(endPoint, checks, collector, ownsCollector: false);

    private static MetricsEndpoint Start(IPEndPoint endPoint, IReadOnlyList<HealthCheck> checks, MetricsCollector collector, bool ownsCollector)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(checks);
        try
        {
            // HttpListener cannot bind port 0: pick a free port and retry if someone takes it first.
            for (var attempt = 0; ; attempt++)
            {
                var port = endPoint.Port != 0 ? endPoint.Port : FreePort(endPoint.Address);
                var http = new HttpListener { IgnoreWriteExceptions = true };
                http.Prefixes.Add($"http://{HostPart(endPoint.Address)}:{port}/");
                try
                {
                    http.Start();
                }
                catch (HttpListenerException) when (endPoint.Port == 0 && attempt < 10)
                {
                    http.Close();
                    continue;
                }
                catch
                {
                    http.Close();
                    throw;
                }
                return new MetricsEndpoint(http, new IPEndPoint(endPoint.Address, port), collector, ownsCollector, checks);
            }
        }
        catch
        {
            if (ownsCollector) collector.Dispose();
            throw;
        }
    }

    /// <summary>Adds a check after start (e.g. once the listeners are bound).</summary>
    public void AddHealthCheck(HealthCheck check)
    {
        ArgumentNullException.ThrowIfNull(check);
        lock (_checksGate) _checks.Add(check);
    }

    /// <summary>Runs every check: (true, "") or (false, "NAME: WHY; NAME: WHY").</summary>
    public (bool Ok, string Reason) CheckHealth()
    {
        HealthCheck[] checks;
        lock (_checksGate) checks = [.. _checks];
        var failures = new List<string>();
        foreach (var check in checks)
        {
            bool ok;
            string reason;
            try
            {
                (ok, reason) = check.Check();
            }
            catch (Exception e)
            {
                (ok, reason) = (false, e.Message);
            }
            if (!ok) failures.Add(string.IsNullOrWhiteSpace(reason) ? check.Name : $"{check.Name}: {reason}");
        }
        return failures.Count == 0 ? (true, "") : (false, string.Join("; ", failures));
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _http.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                if (!_http.IsListening) return;
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => Serve(context));
        }
    }

    private void Serve(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var request = context.Request;
            var path = request.Url?.AbsolutePath ?? "/";
            var head = request.HttpMethod == "HEAD";
            if (path is not ("/metrics" or "/health"))
            {
                Reply(response, 404, "text/plain; charset=utf-8", "not found: try /metrics or /health\n", head);
                return;
            }
            if (request.HttpMethod is not ("GET" or "HEAD"))
            {
                response.AddHeader("Allow", "GET, HEAD");
                Reply(response, 405, "text/plain; charset=utf-8", "method not allowed\n", head: false);
                return;
            }
            if (path == "/metrics")
            {
                Reply(response, 200, MetricsCollector.ContentType, _collector.Scrape(), head);
                return;
            }
            var (ok, reason) = CheckHealth();
            Reply(response, ok ? 200 : 503, "application/json", HealthJson(ok, reason), head);
        }
        catch (Exception e)
        {
            try
            {
                Reply(response, 500, "text/plain; charset=utf-8", e.Message + "\n", head: false);
            }
            catch
            {
                response.Abort();
            }
        }
    }

    /// <summary>The body of a /health reply.</summary>
    public static string HealthJson(bool ok, string reason)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", ok ? "ok" : "fail");
            if (!ok) json.WriteString("reason", reason);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Reply(HttpListenerResponse response, int status, string contentType, string body, bool head)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        response.StatusCode = status;
        response.ContentType = contentType;
        response.Headers["Cache-Control"] = "no-store";
        response.ContentLength64 = bytes.Length;
        if (!head) response.OutputStream.Write(bytes);
        response.Close();
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

    /// <summary>Stops listening and, if it made its own collector, stops that.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping.Cancel();
        try
        {
            _http.Stop();
            _http.Close();
        }
        catch (ObjectDisposedException)
        {
        }
        try
        {
            _acceptLoop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        if (_ownsCollector) _collector.Dispose();
        _stopping.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
