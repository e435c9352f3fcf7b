using System.Net;
using System.Text;
using System.Text.Json;

namespace ActorMta.Metrics;

/// <summary>
/// One health check for <c>/health</c>: a name ("listeners", "spool writable") and a function
/// that says whether it passes and, if not, why. It runs on the HTTP request's thread, so it must be
/// thread-safe and quick (read a flag, touch a file); an exception counts as a failure.
/// </summary>
public sealed record HealthCheck(string Name, Func<(bool Ok, string Reason)> Check);

/// <summary>
/// <c>GET /health</c>: 200 <c>{"status":"ok"}</c> when every check passes, else 503
/// <c>{"status":"fail","reason":"NAME: WHY; ..."}</c>. <c>HEAD</c> answers the same without a body;
/// other methods are 405, other paths under <c>/health/</c> 404.
/// </summary>
/// <remarks>
/// Its own <see cref="HttpListener"/> with the single prefix <c>http://HOST:PORT/health/</c>, next
/// to the OpenTelemetry exporter's listener for <c>/metrics/</c> on the same address. This works
/// because the managed HttpListener (Linux, macOS) opens one socket per IP:port for every listener
/// in the process and hands each request to the listener whose prefix matches its path; the
/// endpoint tests check both paths on one port. (Windows' HTTP.sys routes by prefix too.)
/// </remarks>
internal sealed class HealthListener : IDisposable
{
    private readonly HttpListener _http;
    private readonly object _checksGate = new();
    private readonly List<HealthCheck> _checks;
    private readonly Task _acceptLoop;
    private int _disposed;

    private HealthListener(HttpListener http, IEnumerable<HealthCheck> checks)
    {
        _http = http;
        _checks = [.. checks];
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Starts serving <c>/health</c> under <paramref name="origin"/> (<c>http://HOST:PORT</c>).</summary>
    public static HealthListener Start(string origin, IEnumerable<HealthCheck> checks)
    {
        var http = new HttpListener { IgnoreWriteExceptions = true };
        http.Prefixes.Add(origin + "/health/");
        try
        {
            http.Start();
        }
        catch
        {
            http.Close();
            throw;
        }
        return new HealthListener(http, checks);
    }

    public void Add(HealthCheck check)
    {
        lock (_checksGate) _checks.Add(check);
    }

    /// <summary>Runs every check: (true, "") or (false, "NAME: WHY; NAME: WHY").</summary>
    public (bool Ok, string Reason) Check()
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

    /// <summary>The body of a /health reply.</summary>
    public static string Json(bool ok, string reason)
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

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _http.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                if (Volatile.Read(ref _disposed) != 0 || !_http.IsListening) return;
                continue;
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
            // The prefix also hands over /health/anything (and, in the managed listener, /healthy).
            if (request.Url?.AbsolutePath is not ("/health" or "/health/"))
            {
                Reply(response, 404, "text/plain; charset=utf-8", "not found: try /metrics or /health\n", head: request.HttpMethod == "HEAD");
                return;
            }
            if (request.HttpMethod is not ("GET" or "HEAD"))
            {
                response.AddHeader("Allow", "GET, HEAD");
                Reply(response, 405, "text/plain; charset=utf-8", "method not allowed\n", head: false);
                return;
            }
            var (ok, reason) = Check();
            Reply(response, ok ? 200 : 503, "application/json", Json(ok, reason), head: request.HttpMethod == "HEAD");
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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
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
    }
}
