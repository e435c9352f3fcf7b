using System.Text;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// <c>smtp.max-data-in-memory</c>: message data all sessions hold while receiving is bounded. A
/// message that would go over is read to its end (the session stays in step with the client) and
/// answered 452 4.3.1; its share is given back, so the next message fits again. The messages here
/// stay below <see cref="ActorMta.Spool.IncomingData.SpillAt"/>, so they are held in memory whole
/// (larger ones go to a spill file: <see cref="LargeMessageSpillTests"/>).
/// </summary>
public sealed class DataMemoryBudgetTests
{
    private const long Budget = 300 * 1024;

    private static Task<TestMta> StartAsync() =>
        TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxMessageSize = 10 * 1024 * 1024, MaxDataInMemory = Budget } });

    private static string Body(int kilobytes, string subject) =>
        $"Subject: {subject}\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 998) + "\r\n", kilobytes));

    [Fact]
    public async Task A_DATA_message_over_the_budget_gets_452_after_its_data_and_the_next_one_fits_again()
    {
        await using var mta = await StartAsync();
        using var client = await mta.GreetedAsync();

        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync(Body(1000, "too much") + ".\r\n");
        Assert.Equal("452 4.3.1 Insufficient system storage, please try again later\r\n", await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Matches(@"F=<a@client\.test> temporarily rejected after DATA: message data in memory would exceed actormta\.smtp\.max-data-in-memory \(307200 bytes, all sessions together\)$",
            await mta.WaitForLogLineAsync("temporarily rejected after DATA"));

        // Its share came back: a message nearly as large as the budget goes through on the same connection.
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync(Body(200, "fits") + ".\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
        var delivered = Assert.Single(await mta.WaitForMaildirAsync("user"));
        Assert.Contains("Subject: fits\r\n", delivered);
    }

    [Fact]
    public async Task BDAT_chunks_over_the_budget_are_read_and_dropped_and_LAST_gets_452()
    {
        await using var mta = await StartAsync();
        using var client = await mta.GreetedAsync();

        string chunk = Body(200, "chunked");
        int size = Encoding.ASCII.GetByteCount(chunk);
        await client.SendAsync($"MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nBDAT {size}\r\n{chunk}BDAT {size} LAST\r\n{chunk}NOOP\r\n");
        var replies = await client.ReadRepliesAsync(5, TimeSpan.FromSeconds(30));
        Assert.EndsWith($"250 2.0.0 {size} octets received\r\n452 4.3.1 Insufficient system storage, please try again later\r\n250 2.0.0 OK\r\n", replies);
        Assert.Equal("0\n", (await ActorMta.Tests.Operations.Operator.RunAsync(mta, "queue", "count")).Stdout);
    }

    [Fact]
    public async Task The_budget_is_shared_a_second_session_goes_over_while_the_first_holds_its_data()
    {
        await using var mta = await StartAsync();
        using var first = await mta.GreetedAsync();
        using var second = await mta.GreetedAsync();
        foreach (var client in new[] { first, second })
        {
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(3);
        }

        await first.SendAsync(Body(200, "first")); // held: its end has not come
        await Task.Delay(500);
        await second.SendAsync(Body(200, "second") + ".\r\n");
        Assert.StartsWith("452 4.3.1 ", await second.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));

        await first.SendAsync(".\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await first.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Contains("Subject: first\r\n", Assert.Single(await mta.WaitForMaildirAsync("user")));
    }

    [Fact]
    public async Task Each_spooled_or_reset_message_gives_its_share_back_while_its_session_stays()
    {
        await using var mta = await StartAsync();
        using var first = await mta.GreetedAsync();
        using var second = await mta.GreetedAsync();

        // 200 KB at a time through a 300 KiB budget, the two sessions taking turns and staying open.
        for (int i = 0; i < 4; i++)
        {
            var client = i % 2 == 0 ? first : second;
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(3);
            await client.SendAsync(Body(200, $"turn {i}") + ".\r\n");
            Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
        }

        // RSET in the middle of a message gives its share back too.
        await first.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nBDAT 400000\r\n" + new string('y', 400_000) + "RSET\r\n");
        Assert.EndsWith("250 2.0.0 400000 octets received\r\n250 2.0.0 Reset OK\r\n", await first.ReadRepliesAsync(4, TimeSpan.FromSeconds(30)));
        await second.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await second.ReadRepliesAsync(3);
        await second.SendAsync(Body(200, "after RSET") + ".\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await second.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
    }
}
