using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Operations;

/// <summary>
/// Runs only where the test can act as another user: as root, with <c>setpriv</c> (util-linux) and
/// <c>perl</c> (which swaks needs). Skipped with the reason elsewhere, unless
/// <c>ACTORMTA_REQUIRE_PEERS</c> is set: then it runs and fails.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class AsAnotherUserFactAttribute : FactAttribute
{
    public AsAnotherUserFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ACTORMTA_REQUIRE_PEERS") is { Length: > 0 } v && v != "0") return;
        if (Environment.UserName != "root") Skip = "acting as another user needs root (CI runs as root)";
        else if (!File.Exists("/usr/bin/setpriv")) Skip = "setpriv (util-linux) is missing";
        else if (!File.Exists("/usr/bin/perl")) Skip = "perl is missing (apt-get install perl)";
    }
}

/// <summary>
/// The control socket from an ordinary local user's side (uid 65534, nobody), as the kernel tells
/// the MTA who it is: anyone may submit mail, as themselves; nothing else.
/// </summary>
public sealed class UnprivilegedUserTests
{
    /// <summary>Sends <paramref name="request"/> over the Unix socket as nobody and returns the answer (a client in perl, so no .NET runtime has to be readable by nobody).</summary>
    private static async Task<string> AsNobodyAsync(string socket, string request)
    {
        var psi = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/perl", "-MIO::Socket::UNIX", "-e",
                     "my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die qq(connect: $!\\n); binmode STDIN; local $/; print $s scalar(<STDIN>); $s->shutdown(1); print while <$s>;",
                     socket])
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(request));
        process.StandardInput.Close();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        Assert.True(process.ExitCode == 0, $"perl as nobody: exit {process.ExitCode}: {stderr}");
        return stdout;
    }

    [AsAnotherUserFact]
    public async Task Any_local_user_may_submit_mail_as_itself_and_may_not_touch_the_queue()
    {
        await using var mta = await TestMta.StartAsync();
        string socket = mta.Settings.Control.SocketPath;

        byte[] data = Encoding.ASCII.GetBytes("Subject: from a user's cron job\r\n\r\nbackup done\r\n");
        string submitted = await AsNobodyAsync(socket,
            $"{{\"command\":\"submit\",\"sender\":\"ceo@bank.example\",\"recipients\":[\"ann@test.example\"],\"size\":{data.Length}}}\n{Encoding.ASCII.GetString(data)}");

        Assert.Matches(@"^\{""ok"":true,""id"":""[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}""\}\n$", submitted);
        string delivered = Assert.Single(await mta.WaitForMaildirAsync("ann"));
        // The -f was not an admin's: the mail is from the user who sent it.
        Assert.StartsWith($"Return-Path: <nobody@{TestMta.Hostname}>\r\n", delivered, StringComparison.Ordinal);
        Assert.Contains("\r\nSubject: from a user's cron job\r\n", delivered, StringComparison.Ordinal);
        Assert.Matches($@"<= nobody@{Regex.Escape(TestMta.Hostname)} U=nobody P=local ", await mta.WaitForLogLineAsync(" U=nobody P=local "));

        foreach (string command in (string[])["{\"command\":\"list\"}", "{\"command\":\"count\"}", "{\"command\":\"deliver\",\"all\":true}", "{\"command\":\"remove\",\"id\":\"1xYAAA-AAAAAA-AA\"}"])
        {
            string name = Regex.Match(command, "\"command\":\"(\\w+)\"").Groups[1].Value;
            Assert.Equal($"{{\"ok\":false,\"status\":\"forbidden\",\"error\":\"{name} is for root and the MTA's user; nobody may only submit mail\"}}\n",
                await AsNobodyAsync(socket, command + "\n"));
        }

        // Root still may (the operator verbs' own tests cover the rest).
        var root = await Operator.RunAsync(mta, "queue", "count");
        Assert.Equal((0, "0\n"), (root.ExitCode, root.Stdout));
    }
}
