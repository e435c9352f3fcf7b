using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// RFC 5321 section 3.8: a server closes a connection on its own only after QUIT or with a 421.
/// A stopping MTA tells each client that waits for it, in the clear and over TLS, mid-command and
/// mid-message, so that the client retries rather than seeing a dropped connection.
/// </summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task A_client_waiting_for_its_next_command_gets_421_then_the_close()
    {
        var mta = await TestMta.StartAsync();
        try
        {
            using var client = await mta.GreetedAsync();
            await mta.Node.StopAsync();

            Assert.Equal($"421 4.3.2 {TestMta.Hostname} Service shutting down - closing connection\r\n", await client.ReadRepliesAsync(1));
            Assert.True(await client.IsClosedByServerAsync());
        }
        finally
        {
            await mta.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_in_the_middle_of_a_message_gets_421_and_nothing_is_stored()
    {
        var mta = await TestMta.StartAsync();
        try
        {
            using var client = await mta.GreetedAsync();
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(3);
            await client.SendAsync("Subject: cut\r\n\r\nhalf a messa");
            await Task.Delay(200);
            await mta.Node.StopAsync();

            Assert.StartsWith("421 4.3.2 ", await client.ReadRepliesAsync(1));
            Assert.True(await client.IsClosedByServerAsync());
            Assert.Equal(0, mta.SpooledFileCount());
        }
        finally
        {
            await mta.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_over_tls_gets_the_421_inside_tls()
    {
        using var certificates = new Tls.TlsFixture();
        var mta = await TestMta.StartAsync(certificates.Settings());
        try
        {
            await using var client = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint, viaStartTls: true);
            await client.SendAsync("EHLO client.test\r\n");
            Assert.StartsWith("250", await client.ReadRepliesAsync(1));
            await mta.Node.StopAsync();

            Assert.Equal($"421 4.3.2 {TestMta.Hostname} Service shutting down - closing connection\r\n", await client.ReadRepliesAsync(1));
        }
        finally
        {
            await mta.DisposeAsync();
        }
    }

    [Fact]
    public async Task After_quit_there_is_no_421()
    {
        var mta = await TestMta.StartAsync();
        try
        {
            using var client = await mta.GreetedAsync();
            await client.SendAsync("QUIT\r\n");
            Assert.StartsWith("221 ", await client.ReadRepliesAsync(1));
            await mta.Node.StopAsync();

            Assert.True(await client.IsClosedByServerAsync());
        }
        finally
        {
            await mta.DisposeAsync();
        }
    }
}
