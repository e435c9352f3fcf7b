using System.Diagnostics.Metrics;
using System.Net;
using ActorMta.Metrics;

namespace ActorMta.Tests.Metrics;

/// <summary>The HTTP side: a real HttpListener on 127.0.0.1 and a free port.</summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private static readonly IPEndPoint AnyFreeLoopbackPort = new(IPAddress.Loopback, 0);

    private readonly Meter _meter = new("ActorMta.Tests.Endpoint." + Guid.NewGuid().ToString("N"));
    private readonly MetricsCollector _collector;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public MetricsEndpointTests()
    {
        _collector = new MetricsCollector(m => ReferenceEquals(m, _meter));
    }

    public void Dispose()
    {
        _http.Dispose();
        _collector.Dispose();
        _meter.Dispose();
    }

    private MetricsEndpoint Start(params HealthCheck[] checks) => MetricsEndpoint.Start(AnyFreeLoopbackPort, checks, _collector);

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
            "# HELP t_http_scraped_total Scraped over HTTP.\n# TYPE t_http_scraped_total counter\nt_http_scraped_total{listener=\"smtp\"} 3\n",
            body);

        counter.Add(1, new KeyValuePair<string, object?>("listener", "smtp"));
        Assert.Contains("t_http_scraped_total{listener=\"smtp\"} 4\n", await _http.GetStringAsync(new Uri(endpoint.BaseAddress, "metrics")));
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
    public async Task Other_paths_are_404_and_other_methods_405()
    {
        using var endpoint = Start();

        using var notFound = await _http.GetAsync(new Uri(endpoint.BaseAddress, "queue"));
        using var post = await _http.PostAsync(new Uri(endpoint.BaseAddress, "metrics"), new StringContent(""));

        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
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
        using var again = MetricsEndpoint.Start(bound, [], _collector);
        Assert.Equal(bound.Port, again.EndPoint.Port);
    }

    [Fact]
    public void A_taken_port_fails_start_with_an_http_listener_exception()
    {
        using var first = Start();

        Assert.ThrowsAny<HttpListenerException>(() => MetricsEndpoint.Start(first.EndPoint, [], _collector));
    }

    [Fact]
    public void The_default_address_is_loopback_9464()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9464), MetricsEndpoint.DefaultEndPoint);
    }
}
