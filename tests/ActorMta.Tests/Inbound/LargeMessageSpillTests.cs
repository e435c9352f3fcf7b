using System.Text;
using ActorMta.Spool;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// A message larger than <see cref="IncomingData.SpillAt"/> is written to a nameless file in the
/// spool as it arrives, so a session holds about a megabyte in memory whatever the size of its
/// message, and <c>smtp.max-data-in-memory</c> no longer turns large messages away.
/// </summary>
public sealed class LargeMessageSpillTests
{
    private const int MaxSize = 64 * 1024 * 1024;

    private static Task<TestMta> StartAsync(long budget) =>
        TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxMessageSize = MaxSize, MaxDataInMemory = budget } });

    /// <summary>About <paramref name="megabytes"/> MB of varied lines, some beginning with a dot, as the message itself (not stuffed).</summary>
    private static string Message(int megabytes, string subject)
    {
        var random = new Random(subject.GetHashCode(StringComparison.Ordinal));
        var text = new StringBuilder($"Subject: {subject}\r\nMessage-ID: <{subject.Replace(' ', '.')}@client.test>\r\n\r\n");
        while (text.Length < megabytes * 1024 * 1024)
        {
            int length = random.Next(0, 900);
            if (random.Next(20) == 0) text.Append('.');
            for (int i = 0; i < length; i++) text.Append((char)('!' + random.Next(90)));
            text.Append("\r\n");
        }
        return text.ToString();
    }

    private static string Stuffed(string message) => message.Replace("\r\n.", "\r\n..", StringComparison.Ordinal);

    /// <summary>Descriptors of this process open on spill files (deleted, so their names end " (deleted)").</summary>
    private static int OpenSpillFiles(TestMta mta)
    {
        var input = Path.Combine(mta.Settings.Spool.Directory, "input");
        int count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try { target = new FileInfo(fd).LinkTarget; }
            catch (IOException) { continue; } // closed meanwhile
            if (target is not null && target.StartsWith(Path.Combine(input, "spill-"), StringComparison.Ordinal) && target.EndsWith(" (deleted)", StringComparison.Ordinal))
                count++;
        }
        return count;
    }

    [Fact]
    public async Task Four_sessions_send_12_MB_each_through_a_4_MiB_budget_and_every_message_arrives_byte_exact()
    {
        // Held whole in memory, each message alone would go over the 4 MiB budget and get 452.
        await using var mta = await StartAsync(budget: 4 * 1024 * 1024);
        var messages = Enumerable.Range(0, 4).Select(i => Message(12, $"large {i}")).ToArray();

        var sends = messages.Select(async (message, i) =>
        {
            using var client = await mta.GreetedAsync();
            if (i % 2 == 0)
            {
                await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
                Assert.EndsWith("354 Enter message, ending with \".\" on a line by itself\r\n", await client.ReadRepliesAsync(3));
                await client.SendAsync(Stuffed(message) + ".\r\n");
                return await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(60));
            }
            // BDAT in 1 MB chunks; each chunk's edges fall anywhere in a line.
            var bytes = Encoding.ASCII.GetBytes(message);
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\n");
            await client.ReadRepliesAsync(2);
            string replies = "";
            for (int at = 0; at < bytes.Length; at += 1_000_000)
            {
                int size = Math.Min(1_000_000, bytes.Length - at);
                await client.SendAsync(Encoding.ASCII.GetBytes($"BDAT {size}{(at + size == bytes.Length ? " LAST" : "")}\r\n"));
                await client.SendAsync(bytes.AsSpan(at, size).ToArray());
                replies = await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(60));
            }
            return replies;
        }).ToList();

        foreach (var reply in await Task.WhenAll(sends)) Assert.StartsWith("250 2.0.0 OK id=", reply);
        var delivered = await mta.WaitForMaildirAsync("user", 4);
        foreach (var message in messages)
            Assert.Single(delivered, file => file.EndsWith(message, StringComparison.Ordinal));
        Assert.Equal(4, mta.MainLogLines().Count(l => l.Contains(" <= a@client.test ", StringComparison.Ordinal)));
        Assert.Contains(mta.MainLogLines(), l => l.Contains(" id=large.1@client.test for user@test.example", StringComparison.Ordinal));
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains("rejected", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_large_message_arriving_is_in_a_deleted_spool_file_which_is_closed_once_it_is_stored_or_abandoned()
    {
        await using var mta = await StartAsync(budget: 0);
        var message = Message(3, "watched");
        int half = message.Length / 2;

        using (var client = await mta.GreetedAsync())
        {
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(3);
            Assert.Equal(0, OpenSpillFiles(mta));
            await client.SendAsync(Stuffed(message[..half]));
            await WaitUntilAsync(() => OpenSpillFiles(mta) == 1, "the spill file to be open while the message arrives");
            Assert.Empty(Directory.GetFiles(Path.Combine(mta.Settings.Spool.Directory, "input"), "spill-*")); // nameless

            await client.SendAsync(Stuffed(message[half..]) + ".\r\n");
            Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
            Assert.Equal(0, OpenSpillFiles(mta));
        }
        Assert.EndsWith(message, Assert.Single(await mta.WaitForMaildirAsync("user")), StringComparison.Ordinal);

        // A client that goes away in the middle of a large message leaves no open file behind.
        using (var client = await mta.GreetedAsync())
        {
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(3);
            await client.SendAsync(Stuffed(message[..half]));
            await WaitUntilAsync(() => OpenSpillFiles(mta) == 1, "the second message's spill file to be open");
        }
        await WaitUntilAsync(() => OpenSpillFiles(mta) == 0, "the abandoned message's spill file to be closed");
        await mta.WaitForLogLineAsync("SMTP connection from H=(client.test) [127.0.0.1]", " lost");
    }

    [Fact]
    public async Task A_spill_file_that_cannot_be_written_gets_451_after_the_data_with_the_reason_in_the_log()
    {
        await using var mta = await StartAsync(budget: 0);
        var input = Path.Combine(mta.Settings.Spool.Directory, "input");
        using var client = await mta.GreetedAsync();
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);

        Directory.Delete(input); // empty: nothing is queued
        await client.SendAsync(Stuffed(Message(2, "nowhere")) + ".\r\n");
        Assert.Equal("451 4.3.0 Local error in processing: message not accepted, please try again later\r\n",
            await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Matches($@"H=\(client\.test\) \[127\.0\.0\.1\]:\d+ F=<a@client\.test> temporarily rejected after DATA: cannot write message data to {System.Text.RegularExpressions.Regex.Escape(input)}: .+$",
            await mta.WaitForLogLineAsync("temporarily rejected after DATA"));

        // The session goes on: with the directory back, the same client's next message is stored.
        Directory.CreateDirectory(input);
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        var message = Message(2, "somewhere");
        await client.SendAsync(Stuffed(message) + ".\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.EndsWith(message, Assert.Single(await mta.WaitForMaildirAsync("user")), StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
