using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using ActorMta.Tests.HostProgram;
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
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnprivilegedUserTests
{
    /// <summary>Sends <paramref name="request"/> over the Unix socket as nobody and returns the answer (a client in perl, so no .NET runtime has to be readable by nobody).</summary>
    private static async Task<string> AsNobodyAsync(string socket, string request)
    {
        var run = await ChildProcess.RunAsync("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/perl", "-MIO::Socket::UNIX", "-e",
            "my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die qq(connect: $!\\n); binmode STDIN; local $/; print $s scalar(<STDIN>); $s->shutdown(1); print while <$s>;",
            socket], request);
        Assert.True(run.ExitCode == 0, $"perl as nobody: exit {run.ExitCode}: {run.Stderr}");
        return run.Stdout;
    }

    /// <summary>
    /// The test output folder as nobody can read it: hard links (a copy across file systems) in a
    /// folder of mode 0755, made once. The checkout may sit under a folder only root may enter
    /// (mktemp -d makes 0700), and the program needs its whole folder.
    /// </summary>
    private static readonly Lazy<string> ReadableProgram = new(() =>
    {
        string folder = Path.Combine(Path.GetTempPath(), "actormta-as-nobody-" + Environment.ProcessId);
        if (!Directory.Exists(folder))
        {
            string staging = folder + ".new";
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            using var copy = Process.Start("cp", ["-al", AppContext.BaseDirectory.TrimEnd('/'), staging]);
            copy.WaitForExit();
            if (copy.ExitCode != 0)
            {
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
                using var full = Process.Start("cp", ["-a", AppContext.BaseDirectory.TrimEnd('/'), staging]);
                full.WaitForExit();
                Assert.Equal(0, full.ExitCode);
            }
            File.SetUnixFileMode(staging, (UnixFileMode)0b111_101_101);
            Directory.Move(staging, folder);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(folder, recursive: true);
        }
        return folder;
    });

    [AsAnotherUserFact]
    public async Task A_users_sendmail_reads_the_configuration_without_the_secrets_it_may_not_read_and_sends_as_the_user()
    {
        await using var mta = await TestMta.StartAsync();
        // As an operator lays it out: the main file readable by all, the smarthost password in a file only the MTA reads.
        string config = Path.Combine(mta.Directory, "actormta.conf");
        await File.WriteAllTextAsync(config, $"actormta.data-directory = \"{mta.Directory}\"\ninclude \"secrets.conf\"\n");
        string secrets = Path.Combine(mta.Directory, "secrets.conf");
        await File.WriteAllTextAsync(secrets, "actormta.smtp.max-recipients = 5\n");
        File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        string program = ReadableProgram.Value;
        string runtimeConfig = Path.Combine(program, "ActorMta.Tests.runtimeconfig.json");
        var run = await ChildProcess.RunAsync("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ProgramTests.StartInfo("/").FileName,
                "exec", "--runtimeconfig", runtimeConfig, Path.Combine(program, "actormta.dll"), "sendmail", "-f", "ceo@bank.example", "ann@test.example"],
            "Subject: quarterly report\n\nnumbers\n",
            new Dictionary<string, string> { [ActorMta.Host.Cli.ConfigEnvironmentVariable] = config, ["HOME"] = "/tmp", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" });

        Assert.True(run.ExitCode == 0, $"sendmail as nobody: exit {run.ExitCode}: {run.Stderr}");
        string delivered = Assert.Single(await mta.WaitForMaildirAsync("ann"));
        Assert.StartsWith($"Return-Path: <nobody@{TestMta.Hostname}>\r\n", delivered, StringComparison.Ordinal);
        Assert.Contains("\r\nSubject: quarterly report\r\n", delivered, StringComparison.Ordinal);

        // Root's own verbs still read the whole configuration: the secrets file is no error for them either.
        Assert.Equal(5, ActorMta.Configuration.SettingsLoader.Load(config, []).Settings.Smtp.MaxRecipients);
    }

    [Theory]
    [InlineData(16, 12)]
    [InlineData(4, 3)]
    [InlineData(2, 1)]
    [InlineData(1, 1)]
    public void Users_other_than_the_operator_hold_three_quarters_of_the_control_connections(int max, int users)
        => Assert.Equal(users, ActorMta.Control.ControlServer.UserSlots(max));

    [AsAnotherUserFact]
    public async Task Users_holding_their_share_of_control_connections_open_get_busy_and_the_operator_still_gets_in()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Control = s.Control with { MaxConnections = 4 } });
        string socket = mta.Settings.Control.SocketPath;
        // Three connections from nobody that say nothing: the users' share of four.
        var holders = Enumerable.Range(0, 3).Select(_ => Process.Start(new ProcessStartInfo("/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/perl", "-MIO::Socket::UNIX", "-e",
             "my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die; print qq(held\\n); $| = 1; sleep 60;", socket]) { RedirectStandardOutput = true })!).ToList();
        try
        {
            foreach (var holder in holders) Assert.Equal("held", await holder.StandardOutput.ReadLineAsync());

            // Connected is not yet accepted and counted: ask until the server has (a served "count" is forbidden, no harm done).
            const string busy = "{\"ok\":false,\"status\":\"busy\",\"error\":\"too many control connections from users; try again shortly\"}\n";
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            string answer;
            while ((answer = await AsNobodyAsync(socket, "{\"command\":\"count\"}\n")) != busy && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(busy, answer);
            var root = await Operator.RunAsync(mta, "queue", "count");
            Assert.Equal((0, "0\n"), (root.ExitCode, root.Stdout));
        }
        finally
        {
            foreach (var holder in holders)
            {
                holder.Kill();
                holder.Dispose();
            }
        }

        // Once they are gone, a user's submission is served again.
        await AwaitOkAsync(socket);
    }

    private static async Task AwaitOkAsync(string socket)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            string answer = await AsNobodyAsync(socket, "{\"command\":\"submit\",\"recipients\":[\"ann@test.example\"],\"size\":3}\nx\r\n");
            if (answer.StartsWith("{\"ok\":true", StringComparison.Ordinal)) return;
            Assert.True(DateTime.UtcNow < deadline, answer);
            await Task.Delay(100);
        }
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

        // Any program may talk to the socket, so the server checks what our sendmail already checked.
        Assert.Equal("{\"ok\":false,\"status\":\"bad-request\",\"error\":\"bad notify \\\"sometimes\\\"\"}\n",
            await AsNobodyAsync(socket, "{\"command\":\"submit\",\"recipients\":[\"ann@test.example\"],\"notify\":\"sometimes\",\"size\":3}\nx\r\n"));

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
