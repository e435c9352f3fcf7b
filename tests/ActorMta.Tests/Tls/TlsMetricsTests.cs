using ActorMta.Metrics;
using ActorMta.Tests.Metrics;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Tls;

/// <summary>The server's handshakes, good and bad, reach actormta_tls_handshakes_total{side="inbound"}.</summary>
[Collection(MtaMeterCollection.Name)]
public sealed class TlsMetricsTests(TlsFixture tls) : IClassFixture<TlsFixture>, IDisposable
{
    private readonly Scraper _scraper = new();

    public void Dispose() => _scraper.Dispose();

    private static double Moved(string before, string after, string series) =>
        (Scrapes.Value(after, series) ?? 0) - (Scrapes.Value(before, series) ?? 0);

    [Fact]
    public async Task ServerHandshakesAreCountedAsOkOrFailed()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        var before = _scraper.Scrape();

        await using (var good = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint, viaStartTls: true))
        {
            await good.SendAsync("QUIT\r\n");
            await good.ReadRepliesAsync(1);
        }
        await using (var bad = await TlsSmtpClient.ConnectAsync(mta.EndPoint))
        {
            await bad.ReadRepliesAsync(1);
            await bad.SendAsync("STARTTLS\r\n");
            await bad.ReadRepliesAsync(1);
            await bad.SendAsync("not a client hello\r\n");
            Assert.True(await bad.IsClosedByServerAsync());
        }
        await mta.WaitForLogLineAsync("TLS error on connection from");

        var after = _scraper.Scrape();
        Assert.True(Moved(before, after, "actormta_tls_handshakes_total{result=\"ok\",side=\"inbound\"}") >= 1, after);
        Assert.True(Moved(before, after, "actormta_tls_handshakes_total{result=\"failed\",side=\"inbound\"}") >= 1, after);
        Assert.True(Moved(before, after, "actormta_tls_handshake_duration_seconds_count{side=\"inbound\"}") >= 1, after);
    }
}
