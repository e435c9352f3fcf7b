using System.Globalization;
using System.Net;
using ActorMta.Metrics;

namespace ActorMta.Tests.Metrics;

/// <summary>Reading values back out of an exposition.</summary>
internal static class Scrapes
{
    /// <summary>
    /// The value of the sample <paramref name="series"/> (name and labels exactly as written), or
    /// null. A name without labels also finds the exporter's <c>name{}</c> spelling.
    /// </summary>
    public static double? Value(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (ValueOf(line, series) is { } v) return v;
            if (!series.Contains('{') && ValueOf(line, series + "{}") is { } bare) return bare;
        }
        return null;
    }

    private static double? ValueOf(string line, string series) =>
        line.Length > series.Length && line.StartsWith(series, StringComparison.Ordinal) && line[series.Length] == ' '
            ? double.Parse(line.AsSpan(series.Length + 1), NumberStyles.Float, CultureInfo.InvariantCulture)
            : null;

    /// <summary>Every sample line of one family (its name followed by a brace or a space).</summary>
    public static string[] Samples(string exposition, string family) =>
        exposition.Split('\n')
            .Where(l => l.StartsWith(family + "{", StringComparison.Ordinal) || l.StartsWith(family + " ", StringComparison.Ordinal))
            .ToArray();
}

/// <summary>
/// A <see cref="MetricsEndpoint"/> on a free loopback port, read over real HTTP like Prometheus
/// does. Over ActorMta's own Meter unless told another.
/// </summary>
internal sealed class Scraper : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public Scraper(string meterName = MtaMetrics.MeterName, int maxSeriesPerInstrument = MetricsEndpoint.DefaultMaxSeriesPerInstrument) =>
        Endpoint = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), [], meterName, maxSeriesPerInstrument);

    public MetricsEndpoint Endpoint { get; }

    /// <summary>GET /metrics; synchronous so it fits inside assertion lambdas.</summary>
    public string Scrape()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Endpoint.BaseAddress, "metrics"));
        using var response = _http.Send(request);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(response.Content.ReadAsStream());
        return reader.ReadToEnd();
    }

    public void Dispose()
    {
        Endpoint.Dispose();
        _http.Dispose();
    }
}

/// <summary>Tests that record into ActorMta's own static Meter run one at a time, and with no other
/// test running: any node delivering mail elsewhere in the run records into the same static Meter
/// (an outbound lease in another test once made "other" count 1001 destinations, not 1000).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MtaMeterCollection
{
    public const string Name = "ActorMta Meter";
}
