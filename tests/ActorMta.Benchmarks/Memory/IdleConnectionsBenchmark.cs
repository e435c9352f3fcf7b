using System.Net.Sockets;
using System.Text;
using ActorMta.Benchmarks.Inbound;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Memory;

/// <summary>
/// Memory per idle connection: opens N connections to ActorMta (each waits for its banner, then
/// stays idle) and reports (RSS after - RSS before) / N. The open-file limit here is 20,000 per
/// process, so 5,000 connections (5,000 descriptors on each side) fit comfortably. With a message
/// size, each connection first sends one message of that size (a relay's reused connection between
/// messages), and the figure includes what a session keeps after a message.
/// </summary>
public static class IdleConnectionsBenchmark
{
    public static async Task<int> RunAsync(int connections, int messageSize = 0)
    {
        await using var server = await ActorMtaServer.StartAsync(
            "actormta.smtp.max-connections=20000",
            "actormta.smtp.max-connections-per-ip=20000");

        // Warm-up: the first connections JIT the session path; that is not per-connection memory.
        await OpenAsync(server, 200, closeAfter: true, messageSize);
        await SettleAsync();
        var before = Proc.RssKiB(server.ProcessId);

        var sockets = await OpenAsync(server, connections, closeAfter: false, messageSize);
        await SettleAsync();
        var after = Proc.RssKiB(server.ProcessId);

        var perConnection = (after - before) / (double)connections;
        var what = messageSize > 0 ? $"idle connections, each after one {messageSize}-byte message" : "idle connections";
        Console.WriteLine($"ActorMta RSS: {before} KiB before, {after} KiB with {connections} {what}");
        Console.WriteLine($"RSS per idle connection: {perConnection:F1} KiB");
        foreach (var s in sockets) s.Dispose();
        return 0;
    }

    /// <summary>EHLO, one message of about <paramref name="size"/> bytes in 80-byte lines, lock-step; the connection stays open.</summary>
    private static async Task SendMessageAsync(Socket socket, int size)
    {
        var replies = new ReplyReader(socket);
        var body = new StringBuilder("Subject: idle\r\n\r\n");
        while (body.Length < size) body.Append(new string('y', 78)).Append("\r\n");
        foreach (var (command, code) in new[]
        {
            ("EHLO bench.client\r\n", "250"), ("MAIL FROM:<s@client.example>\r\n", "250"),
            ($"RCPT TO:<{IBenchServer.Mailbox}@{IBenchServer.Domain}>\r\n", "250"), ("DATA\r\n", "354"), (body + ".\r\n", "250"),
        })
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(command), SocketFlags.None);
            await replies.ExpectAsync(code);
        }
    }

    private static Task SettleAsync() => Task.Delay(TimeSpan.FromSeconds(3));

    private static async Task<List<Socket>> OpenAsync(IBenchServer server, int count, bool closeAfter, int messageSize)
    {
        var sockets = new List<Socket>(count);
        // A few at a time: the listen backlog is finite, and we want every banner read.
        const int batch = 100;
        for (var i = 0; i < count; i += batch)
        {
            var opened = await Task.WhenAll(Enumerable.Range(0, Math.Min(batch, count - i)).Select(async _ =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(server.EndPoint);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var banner = new byte[512];
                var n = await s.ReceiveAsync(banner, SocketFlags.None, cts.Token);
                if (n < 3 || !banner.AsSpan(0, 3).SequenceEqual("220"u8))
                {
                    throw new InvalidOperationException("no 220 banner (connection limit reached?)");
                }
                if (messageSize > 0) await SendMessageAsync(s, messageSize);
                return s;
            }));
            sockets.AddRange(opened);
        }
        if (closeAfter)
        {
            foreach (var s in sockets) s.Dispose();
            sockets.Clear();
        }
        return sockets;
    }
}
