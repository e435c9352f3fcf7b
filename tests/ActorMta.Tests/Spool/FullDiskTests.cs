using System.Text;
using System.Text.RegularExpressions;
using ActorMta.Configuration;
using ActorMta.Queue;
using ActorMta.Tests.Support;
using Akka.Actor;

namespace ActorMta.Tests.Spool;

/// <summary>
/// The spool's file system fills up under load with <c>spool.min-free-space</c> off (or eaten by
/// something else): messages get 451, the spool log goes on, and once there is room again mail is
/// accepted without a restart. Every message that got a 250 is delivered once.
/// </summary>
public sealed class FullDiskTests
{
    private static readonly string Body = "Subject: filling\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('z', 998) + "\r\n", 20));

    private static async Task<string> SendAsync(RawSmtpClient client)
    {
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync(Body + ".\r\n");
        return await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30));
    }

    [TmpfsFact]
    public async Task A_full_spool_disk_gets_451_and_mail_is_accepted_again_without_a_restart_once_there_is_room()
    {
        using var tmpfs = Tmpfs.Mount(megabytes: 24);
        Func<MtaSettings, MtaSettings> settings = s => s with
        {
            Spool = s.Spool with
            {
                Directory = Path.Combine(tmpfs.Path, "spool"),
                MinFreeSpace = 0,
                LogSegmentSize = 2 * 1024 * 1024,
                LogCheckpointInterval = TimeSpan.FromMilliseconds(200),
                LogRetention = TimeSpan.FromMilliseconds(500),
            },
            Queue = s.Queue with { QueueOnly = true, QueueRunInterval = TimeSpan.FromHours(1) },
            Smtp = s.Smtp with { MaxMessagesPerConnection = 100_000 },
        };
        var accepted = new List<string>();
        string directory;
        string filler;
        await using (var mta = await TestMta.StartAsync(settings))
        {
            mta.KeepDirectory = true;
            directory = mta.Directory;
            filler = tmpfs.Fill(leave: 5 * 1024 * 1024);
            using var client = await mta.GreetedAsync();
            string reply;
            while ((reply = await SendAsync(client)).StartsWith("250 ", StringComparison.Ordinal))
            {
                accepted.Add(Regex.Match(reply, @"id=(\S+)").Groups[1].Value);
                Assert.True(accepted.Count < 2000, "the disk never filled");
            }
            Assert.Equal("451 4.3.0 Local error in processing: message not accepted, please try again later\r\n", reply);
            Assert.Matches("No space left on device", await mta.WaitForLogLineAsync("temporarily rejected after DATA"));
            Assert.Contains(mta.MainLogLines(), l => l.Contains("will try again: ", StringComparison.Ordinal));
            Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains("until a restart", StringComparison.Ordinal));

            // Room again: the same connection's next message is accepted, with no restart.
            File.Delete(filler);
            reply = await SendAsync(client);
            Assert.StartsWith("250 2.0.0 OK id=", reply);
            accepted.Add(Regex.Match(reply, @"id=(\S+)").Groups[1].Value);
        }

        // A restart that delivers: every accepted message once, nothing else.
        await using (var mta = await TestMta.StartAsync(s => settings(s) with { Queue = s.Queue with { QueueOnly = false } }, directory))
        {
            var delivered = await mta.WaitForMaildirAsync("user", accepted.Count);
            await Task.Delay(1000);
            Assert.Equal(accepted.Count, Directory.GetFiles(mta.MaildirNew("user")).Length);
            var deliveries = mta.MainLogLines().Where(l => l.Contains(" => user@test.example", StringComparison.Ordinal)).ToList();
            Assert.Equal(accepted.Order(StringComparer.Ordinal), deliveries.Select(l => l.Split(' ')[2]).Order(StringComparer.Ordinal));
            mta.KeepDirectory = false;
        }
    }
    [TmpfsFact]
    public async Task Deliveries_the_full_disk_aborted_are_tried_again_once_there_is_room_not_after_the_retry_interval()
    {
        using var tmpfs = Tmpfs.Mount(megabytes: 24);
        // The maildirs are on the test's own disk: the deliveries work, only recording them cannot.
        await using var mta = await TestMta.StartAsync(s => s with
        {
            Spool = s.Spool with
            {
                Directory = Path.Combine(tmpfs.Path, "spool"),
                MinFreeSpace = 0,
                LogSegmentSize = 256 * 1024,
                LogCheckpointInterval = TimeSpan.FromHours(1),
                LogRetention = TimeSpan.FromHours(1),
            },
            Queue = s.Queue with
            {
                QueueOnly = true,
                QueueRunInterval = TimeSpan.FromHours(1),
                RetryInterval = TimeSpan.FromMinutes(15),
                RoomCheckInterval = TimeSpan.FromMilliseconds(200),
            },
            Smtp = s.Smtp with { MaxMessagesPerConnection = 100_000 },
        });
        var accepted = new List<string>();
        using var client = await mta.GreetedAsync();
        async Task<string> SendLinesAsync(int lines)
        {
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(3);
            await client.SendAsync("Subject: filling\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('z', 98) + "\r\n", lines)) + ".\r\n");
            return await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30));
        }
        // Many messages first: their removal records must need more than the log has left.
        for (int i = 0; i < 300; i++) accepted.Add(Regex.Match(await SendLinesAsync(1), @"id=(\S+)").Groups[1].Value);
        // No room left: the log goes on past its segment (no new one can be made) until a write
        // fails; smaller and smaller messages then take what room the log's last pages had.
        string filler = tmpfs.Fill(leave: 0);
        string reply = "";
        foreach (int size in new[] { 200, 20, 1 })
        {
            while ((reply = await SendLinesAsync(size)).StartsWith("250 ", StringComparison.Ordinal))
            {
                accepted.Add(Regex.Match(reply, @"id=(\S+)").Groups[1].Value);
                Assert.True(accepted.Count < 2000, "the log never failed");
            }
        }
        Assert.StartsWith("451 ", reply);

        mta.Node.Queue.Tell(QueueManager.RunQueue.Instance);
        string aborted = await mta.WaitForLogLineAsync("delivery attempt aborted, retry when the spool has room (");
        Assert.Matches(@"\(0 MiB free, 1 MiB needed\), at the latest after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: ", aborted);
        await mta.WaitForMaildirAsync("user", accepted.Count);
        // On the full disk nothing is tried again: the aborted ones stay aborted.
        await Task.Delay(1000);
        var lines = mta.MainLogLines();
        int abortedCount = lines.Count(l => l.Contains("delivery attempt aborted, retry when the spool has room", StringComparison.Ordinal));
        Assert.True(abortedCount > 100, $"{abortedCount} aborted");
        Assert.Equal(accepted.Count - abortedCount, lines.Count(l => l.EndsWith(" Completed", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, l => l.Contains("room again", StringComparison.Ordinal));

        File.Delete(filler);
        Assert.Matches($@"spool has room again \(\d+ MiB free\): trying {abortedCount} message\(s\) whose delivery attempt the full disk aborted",
            await mta.WaitForLogLineAsync("spool has room again"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (mta.MainLogLines().Count(l => l.EndsWith(" Completed", StringComparison.Ordinal)) < accepted.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, "not every message completed:\n" + string.Join('\n', mta.MainLogLines()));
            await Task.Delay(50);
        }
        // Each one delivered once: the retry found the maildir file the aborted attempt wrote.
        Assert.Equal(accepted.Count, Directory.GetFiles(mta.MaildirNew("user")).Length);
        var deliveries = mta.MainLogLines().Where(l => l.Contains(" => user@test.example", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]);
        Assert.Equal(accepted.Order(StringComparer.Ordinal), deliveries.Order(StringComparer.Ordinal));
        Assert.Equal(0, await mta.Node.Queue.Ask<int>(QueueManager.CountQueue.Instance, TimeSpan.FromSeconds(5)));
    }
}
