using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// RFC 5321 section 3.8: a server closes a connection on its own only after QUIT or with a 421.
/// A stopping MTA lets a client in the middle of a message finish it (so it does not send again what
/// was spooled), then tells each client, in the clear and over TLS, so that it retries rather than
/// seeing a dropped connection. Each test stops the node itself; the disposal after it only removes
/// the data folder (StopAsync runs once).
/// </summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task A_client_waiting_for_its_next_command_gets_421_then_the_close()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.GreetedAsync();
        await mta.Node.StopAsync();

        Assert.Equal($"421 4.3.2 {TestMta.Hostname} Service shutting down - closing connection\r\n", await client.ReadRepliesAsync(1));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task A_client_in_the_middle_of_a_message_finishes_it_gets_its_250_then_421()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.GreetedAsync();
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync("Subject: drained\r\n\r\nhalf a messa");
        await Task.Delay(100);
        var stopping = mta.Node.StopAsync();
        // The port closes (a new client goes to another MX meanwhile) when the drain reaches the
        // listener, which tells the sessions at once: however loaded the machine, the session
        // knows before the rest of the message is sent.
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                using var late = await RawSmtpClient.ConnectAsync(mta.EndPoint);
                return false;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return true;
            }
        }, "the SMTP port closed", TimeSpan.FromSeconds(10));
        Assert.False(stopping.IsCompleted, "the stop did not wait for the message being received");
        await client.SendAsync("ge\r\n.\r\nMAIL FROM:<a@client.test>\r\n");
        string replies = await client.ReadRepliesAsync(2);

        // Its 250 (the message is spooled and the client knows it), then 421 for what it pipelined behind.
        Assert.Matches($@"^250 2\.0\.0 OK id=(\S+)\r\n421 4\.3\.2 {TestMta.Hostname} Service shutting down - closing connection\r\n$", replies);
        Assert.True(await client.IsClosedByServerAsync());
        await stopping;
        string id = System.Text.RegularExpressions.Regex.Match(replies, @"id=(\S+)").Groups[1].Value;
        Assert.Single(mta.MainLogLines(), l => l.Contains($"{id} <= a@client.test", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bdat_sequence_is_finished_before_the_421()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.GreetedAsync();
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nBDAT 19\r\nSubject: chunks\r\n\r\n");
        Assert.EndsWith("250 2.0.0 19 octets received\r\n", await client.ReadRepliesAsync(3));
        var stopping = mta.Node.StopAsync();
        await Task.Delay(300);
        await client.SendAsync("BDAT 6 LAST\r\nlast\r\n");

        Assert.Matches(@"^250 2\.0\.0 OK id=\S+\r\n421 4\.3\.2 ", await client.ReadRepliesAsync(2));
        await stopping;
    }

    [Fact]
    public async Task A_client_that_does_not_finish_within_the_drain_timeout_gets_421_and_nothing_is_stored()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { DrainTimeout = TimeSpan.FromMilliseconds(300) } });
        using var client = await mta.GreetedAsync();
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync("Subject: cut\r\n\r\nhalf a messa");
        await Task.Delay(200);
        await mta.Node.StopAsync();

        Assert.StartsWith("421 4.3.2 ", await client.ReadRepliesAsync(1));
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(0, mta.SpooledFileCount());
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains(" <= ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_over_tls_gets_the_421_inside_tls()
    {
        using var certificates = new Tls.TlsFixture();
        await using var mta = await TestMta.StartAsync(certificates.Settings());
        await using var client = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint, viaStartTls: true);
        await client.SendAsync("EHLO client.test\r\n");
        Assert.StartsWith("250", await client.ReadRepliesAsync(1));
        await mta.Node.StopAsync();

        Assert.Equal($"421 4.3.2 {TestMta.Hostname} Service shutting down - closing connection\r\n", await client.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task After_quit_there_is_no_421()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.GreetedAsync();
        await client.SendAsync("QUIT\r\n");
        Assert.StartsWith("221 ", await client.ReadRepliesAsync(1));
        await mta.Node.StopAsync();

        Assert.True(await client.IsClosedByServerAsync());
    }
}
