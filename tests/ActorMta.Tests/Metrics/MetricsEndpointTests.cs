using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using ActorMta.Metrics;

namespace ActorMta.Tests.Metrics;

/// <summary>
/// The HTTP side: OpenTelemetry's exporter for /metrics and ActorMta's health listener, both real
/// HttpListeners on 127.0.0.1 and one free port.
/// </summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private static readonly IPEndPoint AnyFreeLoopbackPort = new(IPAddress.Loopback, 0);

    private readonly Meter _meter = new("ActorMta.Tests.Endpoint." + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        _meter.Dispose();
    }

    private MetricsEndpoint Start(params HealthCheck[] checks) => MetricsEndpoint.Start(AnyFreeLoopbackPort, checks, _meter.Name);

    [Fact]
    public async Task Get_metrics_serves_the_exposition_with_the_prometheus_content_type()
    {
        using var endpoint = Start();
        var counter = _meter.CreateCounter<long>("t_http_scraped", null, "Scraped over HTTP.");
        counter.Add(3, new KeyValuePair<string, object?>("listener", "smtp"));

        using var response = await _http.GetAsync(new Uri(endpoint.BaseAddress, "metrics"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(
            "# TYPE t_http_scraped_total counter\n# HELP t_http_scraped_total Scraped over HTTP.\nt_http_scraped_total{listener=\"smtp\"} 3\n",
            body);

        counter.Add(1, new KeyValuePair<string, object?>("listener", "smtp"));
        Assert.Contains("t_http_scraped_total{listener=\"smtp\"} 4\n", await _http.GetStringAsync(new Uri(endpoint.BaseAddress, "metrics")));
    }

    [Fact]
    public async Task Metrics_and_health_answer_on_the_same_port_one_after_the_other_on_one_connection()
    {
        var healthy = true;
        using var endpoint = Start(new HealthCheck("spool writable", () => (Volatile.Read(ref healthy), "read-only")));
        var counter = _meter.CreateCounter<long>("t_same_port", null, "Same port.");
        var port = endpoint.EndPoint.Port;
        // One HttpClient keeps the connection open: requests for both paths arrive on one socket.
        for (var i = 1; i <= 3; i++)
        {
            counter.Add(1);
            Assert.Contains($"t_same_port_total{{}} {i}\n", await _http.GetStringAsync($"http://127.0.0.1:{port}/metrics"));
            Volatile.Write(ref healthy, i != 2);
            using var health = await _http.GetAsync($"http://127.0.0.1:{port}/health");
            Assert.Equal(i != 2 ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable, health.StatusCode);
        }
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public async Task Every_address_serves_metrics_and_health_on_loopback_too(string any)
    {
        using var endpoint = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Parse(any), 0), [], _meter.Name);
        _meter.CreateCounter<long>("t_any_address", null, "Any address.").Add(1);

        Assert.Contains("t_any_address_total{} 1\n", await _http.GetStringAsync($"http://127.0.0.1:{endpoint.EndPoint.Port}/metrics"));
        Assert.Equal("{\"status\":\"ok\"}", await _http.GetStringAsync($"http://127.0.0.1:{endpoint.EndPoint.Port}/health"));
    }

    [Fact]
    public async Task Health_is_200_ok_when_every_check_passes()
    {
        using var endpoint = Start(new HealthCheck("listeners bound", () => (true, "")), new HealthCheck("spool writable", () => (true, "")));

        using var response = await _http.GetAsync(new Uri(endpoint.BaseAddress, "health"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{\"status\":\"ok\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_is_503_with_the_failing_checks_and_their_reasons()
    {
        using var endpoint = Start(
            new HealthCheck("listeners bound", () => (true, "")),
            new HealthCheck("spool writable", () => (false, "/var/spool/actormta is read-only")));

        using var response = await _http.GetAsync(new Uri(endpoint.BaseAddress, "health"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("{\"status\":\"fail\",\"reason\":\"spool writable: /var/spool/actormta is read-only\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_check_that_throws_fails_health_with_the_exception_message()
    {
        using var endpoint = Start(new HealthCheck("spool writable", () => throw new IOException("disk \"gone\"")));

        using var response = await _http.GetAsync(new Uri(endpoint.BaseAddress, "health"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("{\"status\":\"fail\",\"reason\":\"spool writable: disk \\u0022gone\\u0022\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_check_added_after_start_counts_and_health_follows_it_from_request_to_request()
    {
        using var endpoint = Start();
        var listenersBound = false;
        endpoint.AddHealthCheck(new HealthCheck("listeners bound", () => (Volatile.Read(ref listenersBound), "not yet")));

        using (var before = await _http.GetAsync(new Uri(endpoint.BaseAddress, "health")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
            Assert.Equal("{\"status\":\"fail\",\"reason\":\"listeners bound: not yet\"}", await before.Content.ReadAsStringAsync());
        }
        Volatile.Write(ref listenersBound, true);
        using var after = await _http.GetAsync(new Uri(endpoint.BaseAddress, "health"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Other_paths_are_404_and_other_methods_on_health_405()
    {
        using var endpoint = Start();

        using var notFound = await _http.GetAsync(new Uri(endpoint.BaseAddress, "queue"));
        using var underHealth = await _http.GetAsync(new Uri(endpoint.BaseAddress, "health/deep"));
        using var post = await _http.PostAsync(new Uri(endpoint.BaseAddress, "health"), new StringContent(""));

        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, underHealth.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal("GET, HEAD", post.Content.Headers.Allow.Count > 0 ? string.Join(", ", post.Content.Headers.Allow) : string.Join(", ", post.Headers.GetValues("Allow")));
    }

    [Fact]
    public async Task Head_answers_without_a_body()
    {
        using var endpoint = Start(new HealthCheck("spool writable", () => (false, "no")));

        using var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(endpoint.BaseAddress, "health")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Disposing_stops_listening_and_the_port_can_be_bound_again()
    {
        IPEndPoint bound;
        using (var endpoint = Start())
        {
            bound = endpoint.EndPoint;
            Assert.NotEqual(0, bound.Port);
            Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(new Uri(endpoint.BaseAddress, "health"))).StatusCode);
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => _http.GetAsync(new Uri($"http://127.0.0.1:{bound.Port}/health")));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => _http.GetAsync(new Uri($"http://127.0.0.1:{bound.Port}/metrics")));
        using var again = MetricsEndpoint.Start(bound, [], _meter.Name);
        Assert.Equal(bound.Port, again.EndPoint.Port);
    }

    [Fact]
    public void A_port_another_socket_holds_fails_start_with_address_already_in_use()
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();

        var e = Assert.ThrowsAny<HttpListenerException>(() => MetricsEndpoint.Start((IPEndPoint)other.LocalEndpoint, [], _meter.Name));
        Assert.Equal("Address already in use", e.Message);
    }

    [Fact]
    public void A_second_endpoint_on_the_same_address_in_this_process_fails_start()
    {
        using var first = Start();

        Assert.ThrowsAny<HttpListenerException>(() => MetricsEndpoint.Start(first.EndPoint, [], _meter.Name));
    }

    [Fact]
    public void The_default_address_is_loopback_9464()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9464), MetricsEndpoint.DefaultEndPoint);
    }
}
