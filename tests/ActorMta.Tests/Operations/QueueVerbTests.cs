using ActorMta.Spool;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Operations;

/// <summary>
/// The queue verbs end to end: a real node (loopback SMTP, real spool, control endpoint on its Unix
/// socket) and the command line as the operator runs it. A message stays in the queue because the
/// maildir of "stuck" is blocked by a plain file, which makes its delivery defer.
/// </summary>
public sealed class QueueVerbTests
{
    private static async Task<TestMta> StartWithStuckMailboxAsync(string? directory = null)
    {
        var mta = await TestMta.StartAsync(directory: directory);
        Directory.CreateDirectory(mta.Settings.LocalDelivery.MaildirRoot);
        string blocker = Path.Combine(mta.Settings.LocalDelivery.MaildirRoot, "stuck");
        if (!Directory.Exists(blocker)) File.WriteAllText(blocker, "not a maildir");
        return mta;
    }

    private static void Unblock(TestMta mta) => File.Delete(Path.Combine(mta.Settings.LocalDelivery.MaildirRoot, "stuck"));

    [Fact]
    public async Task ListCountShowFreezeThawAndDeliverAgainstTheRunningMta()
    {
        await using var mta = await StartWithStuckMailboxAsync();
        string id = await Operator.SendAsync(mta, "a@client.test", "verbs", "stuck@test.example", "user@test.example");
        await mta.WaitForLogLineAsync(id, "== stuck@test.example");
        await mta.WaitForLogLineAsync(id, "=> user@test.example");
        await Operator.WaitIdleAsync(mta, id);

        var list = await Operator.RunAsync(mta, "queue", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Equal("", list.Stderr);
        // exim -bp: age, size, id, <sender>; pending recipients indented 10, delivered ones "        D ".
        Assert.Matches(new Regex($"^ ?\\d+m +\\d+ {id} <a@client.test>\n {{10}}stuck@test.example\n {{8}}D user@test.example\n\n$"), list.Stdout);

        var json = await Operator.RunAsync(mta, "queue", "list", "--json");
        Assert.Equal(0, json.ExitCode);
        var line = Assert.Single(json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var entry = JsonNode.Parse(line)!.AsObject();
        Assert.Equal(id, (string?)entry["id"]);
        Assert.Equal("a@client.test", (string?)entry["sender"]);
        Assert.False((bool)entry["frozen"]!);
        Assert.Equal("pending", (string?)entry["recipients"]![0]!["state"]);
        Assert.Equal("delivered", (string?)entry["recipients"]![1]!["state"]);
        Assert.NotNull((string?)entry["next-attempt"]);

        var count = await Operator.RunAsync(mta, "queue", "count");
        Assert.Equal((0, "1\n"), (count.ExitCode, count.Stdout));

        var show = await Operator.RunAsync(mta, "queue", "show", id);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains($"Message {id}\n", show.Stdout);
        Assert.Contains("  Sender:     <a@client.test>\n", show.Stdout);
        Assert.Contains("    D user@test.example (delivered)\n", show.Stdout);
        Assert.Contains("\nSubject: verbs\n", show.Stdout);
        Assert.Matches($@"\n\S+ \S+ {id} <= a@client.test H=\(client.test\) ", show.Stdout);
        Assert.Matches($@"\n\S+ \S+ {id} == stuck@test.example ", show.Stdout);

        var freeze = await Operator.RunAsync(mta, "queue", "freeze", id);
        Assert.Equal((0, $"message {id} frozen\n"), (freeze.ExitCode, freeze.Stdout));
        await mta.WaitForLogLineAsync($"{id} frozen by ");
        Assert.True(MessageSpool.TryOpenReadOnly(mta.Settings.Spool.Directory, id)!.Message.Frozen); // journaled
        Assert.Contains($"{id} <a@client.test> *** frozen ***\n", (await Operator.RunAsync(mta, "queue", "list")).Stdout);

        // A queue run skips the frozen message.
        Unblock(mta);
        var all = await Operator.RunAsync(mta, "queue", "deliver", "--all");
        Assert.Equal((0, "delivery attempts started for 0 messages\n"), (all.ExitCode, all.Stdout));

        var thaw = await Operator.RunAsync(mta, "queue", "thaw", id);
        Assert.Equal((0, $"message {id} thawed\n"), (thaw.ExitCode, thaw.Stdout));
        await mta.WaitForLogLineAsync($"{id} unfrozen by ");
        // Thawed, it is due again: delivered now that the mailbox is a maildir.
        await mta.WaitForLogLineAsync(id, "=> stuck@test.example");
        await mta.WaitForLogLineAsync($"{id} Completed");
        Assert.Equal("0\n", (await Operator.RunAsync(mta, "queue", "count")).Stdout);
    }

    [Fact]
    public async Task DeliverRetriesOneMessageNowEvenWhenFrozen()
    {
        await using var mta = await StartWithStuckMailboxAsync();
        string id = await Operator.SendAsync(mta, "a@client.test", "now", "stuck@test.example");
        await mta.WaitForLogLineAsync(id, "== stuck@test.example");
        await Operator.WaitIdleAsync(mta, id);
        Assert.Equal(0, (await Operator.RunAsync(mta, "queue", "freeze", id)).ExitCode);
        Unblock(mta);

        var deliver = await Operator.RunAsync(mta, "queue", "deliver", id);

        Assert.Equal((0, $"delivery attempt started for {id}\n"), (deliver.ExitCode, deliver.Stdout));
        await mta.WaitForLogLineAsync(id, "=> stuck@test.example");
        await mta.WaitForLogLineAsync($"{id} Completed");
    }

    [Fact]
    public async Task RemoveLogsLikeEximAndSendsNoBounceWhileBounceCancelsWithADsn()
    {
        await using var mta = await StartWithStuckMailboxAsync();
        string removed = await Operator.SendAsync(mta, "sender@test.example", "remove me", "stuck@test.example");
        string bounced = await Operator.SendAsync(mta, "sender@test.example", "bounce me", "stuck@test.example");
        await mta.WaitForLogLineAsync(removed, "== stuck@test.example");
        await mta.WaitForLogLineAsync(bounced, "== stuck@test.example");
        await Operator.WaitIdleAsync(mta, removed);
        await Operator.WaitIdleAsync(mta, bounced);

        var remove = await Operator.RunAsync(mta, "queue", "remove", removed);
        Assert.Equal((0, $"message {removed} removed\n"), (remove.ExitCode, remove.Stdout));
        await mta.WaitForLogLineAsync($"{removed} removed by ");
        await mta.WaitForLogLineAsync($"{removed} Completed");
        Assert.False(File.Exists(Path.Combine(mta.Settings.Spool.Directory, "input", removed)));

        var bounce = await Operator.RunAsync(mta, "queue", "bounce", bounced);
        Assert.Equal(0, bounce.ExitCode);
        Assert.StartsWith($"message {bounced} cancelled; bounce ", bounce.Stdout);
        await mta.WaitForLogLineAsync($"{bounced} ** stuck@test.example: cancelled by administrator");
        await mta.WaitForLogLineAsync($"<= <> R={bounced} ");
        await mta.WaitForLogLineAsync($"{bounced} Completed");

        // The sender gets one DSN: for the bounced message, none for the removed one.
        var dsn = Assert.Single(await mta.WaitForMaildirAsync("sender"));
        Assert.Contains("cancelled by administrator", dsn);
        Assert.Contains("Subject: bounce me", dsn);
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains($"R={removed}", StringComparison.Ordinal));
        string dsnId = bounce.Stdout.Split(' ')[4];
        await mta.WaitForLogLineAsync($"{dsnId} Completed");
        Assert.Equal("0\n", (await Operator.RunAsync(mta, "queue", "count")).Stdout);
    }

    [Fact]
    public async Task UnknownIdsAndBadIdsGiveClearMessagesAndExitCodes()
    {
        await using var mta = await TestMta.StartAsync();
        const string absent = "1xXfzJ-4cSnUy-J9";
        foreach (var verb in new[] { "show", "deliver", "remove", "bounce", "freeze", "thaw" })
        {
            var r = await Operator.RunAsync(mta, "queue", verb, absent);
            Assert.Equal((1, ""), (r.ExitCode, r.Stdout));
            Assert.Equal($"actormta: message {absent} is not in the queue\n", r.Stderr);
        }

        var bad = await Operator.RunAsync(mta, "queue", "remove", "../../etc/passwd");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("actormta: \"../../etc/passwd\" is not a message id (they look like 1xXdwa-Un3fSo-uC)\n", bad.Stderr);

        var neither = await Operator.RunAsync(mta, "queue", "deliver");
        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("needs either a message id or --all", neither.Stderr);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task TheControlSocketLetsEveryLocalUserConnect()
    {
        // Everyone's sendmail needs it; what each user may ask is decided per request (UnprivilegedUserTests).
        await using var mta = await TestMta.StartAsync();
        string socket = Path.Combine(mta.Directory, "actormta.control.socket");
        Assert.Equal(socket, mta.Node.ControlSocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite,
            File.GetUnixFileMode(socket));
    }

    [Fact]
    public async Task StoppedMtaListCountAndShowReadTheSpoolTheOtherVerbsSayItIsNotRunning()
    {
        string directory;
        string id;
        await using (var mta = await StartWithStuckMailboxAsync())
        {
            mta.KeepDirectory = true;
            directory = mta.Directory;
            id = await Operator.SendAsync(mta, "a@client.test", "stopped", "stuck@test.example", "user@test.example");
            await mta.WaitForLogLineAsync(id, "== stuck@test.example");
            await mta.WaitForLogLineAsync(id, "=> user@test.example");
            await Operator.WaitIdleAsync(mta, id);
            Assert.Equal(0, (await Operator.RunAsync(mta, "queue", "freeze", id)).ExitCode);
        }
        try
        {
            string notRunning = $"actormta: the MTA is not running (no answer on {directory}/actormta.control.socket); reading the spool files in {directory}/spool\n";
            var list = await Operator.RunAsync(directory, ["queue", "list"]);
            Assert.Equal((0, notRunning), (list.ExitCode, list.Stderr));
            Assert.Matches(new Regex($"^ ?\\d+m +\\d+ {id} <a@client.test> \\*\\*\\* frozen \\*\\*\\*\n {{10}}stuck@test.example\n {{8}}D user@test.example\n\n$"), list.Stdout);

            var count = await Operator.RunAsync(directory, ["queue", "count"]);
            Assert.Equal((0, "1\n", notRunning), (count.ExitCode, count.Stdout, count.Stderr));

            var show = await Operator.RunAsync(directory, ["queue", "show", id]);
            Assert.Equal(0, show.ExitCode);
            Assert.Contains("  State:      *** frozen ***\n", show.Stdout);
            Assert.Contains("\nSubject: stopped\n", show.Stdout);
            Assert.Contains($"{id} frozen by ", show.Stdout);

            var remove = await Operator.RunAsync(directory, ["queue", "remove", id]);
            Assert.Equal((1, ""), (remove.ExitCode, remove.Stdout));
            Assert.Equal($"actormta: the MTA is not running (control socket {directory}/actormta.control.socket: it does not exist)\n", remove.Stderr);
            Assert.Equal(1, (await Operator.RunAsync(directory, ["destinations"])).ExitCode);
            Assert.NotNull(MessageSpool.TryOpenReadOnly(Path.Combine(directory, "spool"), id));

            // Restarted, the message is still frozen (journaled in the spool) and not attempted.
            Unblock2(directory);
            await using var again = await TestMta.StartAsync(directory: directory);
            var after = await Operator.RunAsync(again, "queue", "list");
            Assert.Equal("", after.Stderr);
            Assert.Contains($"{id} <a@client.test> *** frozen ***\n", after.Stdout);
            await Task.Delay(500);
            Assert.DoesNotContain(again.MainLogLines(), l => l.Contains($"{id} => stuck@test.example", StringComparison.Ordinal));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Unblock2(string directory) => File.Delete(Path.Combine(directory, "maildir", "stuck"));
}
