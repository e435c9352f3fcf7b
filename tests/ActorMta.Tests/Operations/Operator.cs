using System.Text;
using ActorMta.Host;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Operations;

/// <summary>
/// The <c>actormta</c> command line run in the test process (<see cref="Cli.RunAsync(string[], TextWriter, TextWriter, Stream)"/>),
/// pointed at a node's data directory with <c>--set</c> as an operator would: it finds the control
/// socket, the spool and the main log there, and talks to the node over the real Unix socket.
/// </summary>
internal static class Operator
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(string dataDirectory, string[] args, string? stdin = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(stdin ?? ""));
        string[] all = [.. args, "--set", $"actormta.data-directory=\"{dataDirectory}\""];
        int exit = await Cli.RunAsync(all, stdout, stderr, input);
        return new Result(exit, stdout.ToString(), stderr.ToString());
    }

    public static Task<Result> RunAsync(TestMta mta, params string[] args) => RunAsync(mta.Directory, args);

    /// <summary>Like <see cref="TestMta.WaitForLogLineAsync"/> with a longer limit (a refused remote connection takes seconds).</summary>
    public static async Task<string> WaitForLogLineAsync(TestMta mta, TimeSpan limit, params string[] fragments)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var line = mta.MainLogLines().FirstOrDefault(l => fragments.All(f => l.Contains(f, StringComparison.Ordinal)));
            if (line is not null) return line;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no main-log line with [{string.Join("] [", fragments)}]; log:\n{string.Join('\n', mta.MainLogLines())}");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Waits until no delivery attempt holds the message (its deferral is logged before the attempt
    /// ends, and commands on a message in an attempt are refused as busy).
    /// </summary>
    public static async Task WaitIdleAsync(TestMta mta, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var r = await RunAsync(mta, "queue", "list", "--json");
            var entry = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
                .FirstOrDefault(n => (string?)n["id"] == id);
            if (entry is not null && !(bool)entry["in-flight"]!) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{id} still in a delivery attempt (or gone): {r.Stdout}");
            await Task.Delay(50);
        }
    }

    /// <summary>Sends one message over SMTP and returns its spool id (from the 250 reply).</summary>
    public static async Task<string> SendAsync(TestMta mta, string sender, string subject, params string[] recipients)
    {
        using var client = await mta.ConnectAsync();
        var commands = new StringBuilder($"EHLO client.test\r\nMAIL FROM:<{sender}>\r\n");
        foreach (var r in recipients) commands.Append($"RCPT TO:<{r}>\r\n");
        commands.Append("DATA\r\n");
        await client.SendAsync(commands.ToString());
        await client.ReadRepliesAsync(4 + recipients.Length);
        await client.SendAsync($"From: <{sender}>\r\nSubject: {subject}\r\n\r\nhello\r\n.\r\nQUIT\r\n");
        string replies = await client.ReadRepliesAsync(2);
        var match = System.Text.RegularExpressions.Regex.Match(replies, @"250 .*?id=(\S+)");
        Assert.True(match.Success, replies);
        return match.Groups[1].Value;
    }
}
