using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// MAIL (and sendmail) is refused with 452 4.3.1 while the spool's file system lacks <c>spool.min-free-space</c>
/// plus the declared SIZE (Exim's check_spool_space), measured on the real file system the tests
/// run on: a minimum beyond any disk, or a SIZE beyond any disk, stands in for a full one.
/// </summary>
public sealed class SpoolSpaceTests
{
    [Fact]
    public async Task Below_the_minimum_MAIL_gets_452_is_logged_and_nothing_is_spooled()
    {
        const long Petabyte = 1L << 50;
        await using var mta = await TestMta.StartAsync(s => s with { Spool = s.Spool with { MinFreeSpace = Petabyte } });
        using var client = await mta.GreetedAsync();

        await client.SendAsync("MAIL FROM:<a@client.test>\r\n");
        Assert.Equal("452 4.3.1 Insufficient system storage, please try again later\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("RCPT TO:<user@test.example>\r\n");
        Assert.StartsWith("503 ", await client.ReadRepliesAsync(1));

        Assert.Matches(@"^\S+ \S+ H=\(client\.test\) \[127\.0\.0\.1\]:\d+ F=<a@client\.test> temporarily rejected MAIL: spool has \d+ MiB free, below actormta\.spool\.min-free-space \(1073741824 MiB\)$",
            await mta.WaitForLogLineAsync("temporarily rejected MAIL"));
        Assert.Equal("0\n", (await ActorMta.Tests.Operations.Operator.RunAsync(mta, "queue", "count")).Stdout);
    }

    [Fact]
    public async Task A_declared_SIZE_the_disk_cannot_hold_gets_452_and_a_small_one_goes_through()
    {
        const long Petabyte = 1L << 50;
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxMessageSize = 2 * Petabyte } });
        using var client = await mta.GreetedAsync();

        await client.SendAsync($"MAIL FROM:<a@client.test> SIZE={Petabyte}\r\n");
        Assert.Equal("452 4.3.1 Insufficient system storage, please try again later\r\n", await client.ReadRepliesAsync(1));
        Assert.EndsWith($" with SIZE={Petabyte}", await mta.WaitForLogLineAsync("temporarily rejected MAIL"));

        await client.SendAsync("MAIL FROM:<a@client.test> SIZE=100\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n", await client.ReadRepliesAsync(2));
    }

    [Fact]
    public async Task With_the_check_off_MAIL_is_not_asked_about_space()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxMessageSize = long.MaxValue }, Spool = s.Spool with { MinFreeSpace = 0 } });
        using var client = await mta.GreetedAsync();
        await client.SendAsync($"MAIL FROM:<a@client.test> SIZE={1L << 60}\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n", await client.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task Sendmail_below_the_minimum_is_refused_with_exit_1_and_nothing_is_spooled()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Spool = s.Spool with { MinFreeSpace = 1L << 50 } });
        var r = await ActorMta.Tests.Operations.Operator.RunAsync(mta.Directory, ["sendmail", "ann@test.example"], "Subject: full\n\nx\n");
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"^actormta: not enough space in the spool: \d+ MiB free, below actormta\.spool\.min-free-space \(1073741824 MiB\); try again later\n$", r.Stderr);
        Assert.Equal("0\n", (await ActorMta.Tests.Operations.Operator.RunAsync(mta, "queue", "count")).Stdout);
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains(" <= ", StringComparison.Ordinal));
    }
}
