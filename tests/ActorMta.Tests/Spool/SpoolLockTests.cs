using ActorMta.Configuration;
using ActorMta.Spool;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Spool;

/// <summary>One MTA per spool, even with the control socket (the other guard) off.</summary>
public sealed class SpoolLockTests
{
    private static MtaSettings NoControl(MtaSettings s) => s with { Control = ControlSettings.Default(s.DataDirectory) with { Enabled = false } };

    [Fact]
    public async Task A_second_node_on_a_spool_in_use_refuses_to_start_saying_why_and_starts_once_the_first_stopped()
    {
        string directory;
        var first = await TestMta.StartAsync(NoControl);
        try
        {
            first.KeepDirectory = true;
            directory = first.Directory;

            var refused = await Assert.ThrowsAsync<SpoolException>(() => TestMta.StartAsync(NoControl, directory));

            string lockFile = Path.Combine(first.Settings.Spool.Directory, SpoolLock.FileName);
            Assert.Equal($"the spool {first.Settings.Spool.Directory} is in use by another process (it holds {lockFile}): is ActorMta already running with this spool?",
                refused.Message);
            // The first is untouched: it still takes mail.
            using var client = await first.GreetedAsync();
            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(3);
            await client.SendAsync("Subject: still here\r\n\r\nx\r\n.\r\n");
            Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1));
        }
        finally
        {
            await first.DisposeAsync();
        }

        await using var second = await TestMta.StartAsync(NoControl, directory);
        second.KeepDirectory = false;
        Assert.Single(await second.WaitForMaildirAsync("user"), m => m.Contains("Subject: still here", StringComparison.Ordinal));
    }
}
