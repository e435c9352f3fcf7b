using System.Text;
using System.Text.RegularExpressions;
using ActorMta.Configuration;
using ActorMta.Tests.Support;

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
}
