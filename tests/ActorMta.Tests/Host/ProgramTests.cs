using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace ActorMta.Tests.HostProgram;

/// <summary>The real <c>actormta</c> program, run as a child process from the test output folder.</summary>
public sealed class ProgramTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actormta-program-" + Guid.NewGuid().ToString("N"));

    public ProgramTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed record Result(int ExitCode, string Stdout, string Stderr);

    internal static ProcessStartInfo StartInfo(string workingDirectory, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "actormta.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing from the test output folder");
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        // The test project runs on Microsoft.AspNetCore.App as well as Microsoft.NETCore.App, so the
        // SDK prunes packages that framework provides (Microsoft.Extensions.ObjectPool, which Akka
        // needs) from this folder. actormta's own runtimeconfig names only NETCore.App and would
        // not find them here; the test project's runtimeconfig does.
        string runtimeConfig = Path.Combine(AppContext.BaseDirectory, "ActorMta.Tests.runtimeconfig.json");
        if (File.Exists(runtimeConfig))
        {
            psi.ArgumentList.Add("exec");
            psi.ArgumentList.Add("--runtimeconfig");
            psi.ArgumentList.Add(runtimeConfig);
        }

        psi.ArgumentList.Add(dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private async Task<Result> RunAsync(params string[] args)
    {
        using var process = Process.Start(StartInfo(_folder, args))!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("actormta " + string.Join(' ', args) + " did not exit");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    private static void AssertNoStackTrace(string text)
    {
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VersionPrintsTheVersionAndExitsZero()
    {
        var r = await RunAsync("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("0.1.0", r.Stdout.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigCheckWithDefaultsPrintsTheEffectiveTree()
    {
        var r = await RunAsync("config", "check", "--set", "actormta.smtp.max-recipients=42");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("actormta {", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("max-recipients = 42  # from --set actormta.smtp.max-recipients=42", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("listen = [\"127.0.0.1:2525\"]", r.Stdout, StringComparison.Ordinal);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public async Task ConfigCheckPassesOnTheExampleFile()
    {
        string example = ActorMta.Tests.ConfigurationLoading.ConfigurationCompletenessTests.ExampleFile();

        var r = await RunAsync("config", "check", "--config", example);

        Assert.Equal("", r.Stderr);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"# from {example}:", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("top-destinations = 10", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigCheckRefusesAnAddressDependentHeloNameWithEarlyPipelining()
    {
        File.WriteAllText(Path.Combine(_folder, "helo.conf"),
            "actormta.outbound {\n  hosts-pipe-connect = [\"*\"]\n  helo-name = \"${sending_ip_address}\"\n}\n");

        var r = await RunAsync("config", "check", "--config", "helo.conf");

        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("helo.conf:3: actormta.outbound.helo-name: \"${sending_ip_address}\" contains ", r.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(r.Stderr);
    }

    [Fact]
    public async Task ConfigCheckWithABadFileExitsTwoWithFileLineAndKey()
    {
        string file = Path.Combine(_folder, "bad.conf");
        File.WriteAllText(file, "actormta {\n  smtp {\n    max-recipients = abc\n    idle-timeout = soon\n  }\n  lisen = []\n}\n");

        var r = await RunAsync("config", "check", "--config", "bad.conf");

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("bad.conf:3: actormta.smtp.max-recipients: expected a positive integer, got \"abc\"", lines[0]);
        Assert.StartsWith("bad.conf:4: actormta.smtp.idle-timeout: ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("bad.conf:6: actormta.lisen: unknown key", lines[2], StringComparison.Ordinal);
        Assert.Contains("3 errors", lines[3], StringComparison.Ordinal);
        AssertNoStackTrace(r.Stderr);
    }

    [Fact]
    public async Task ConfigCheckWithASyntaxErrorExitsTwo()
    {
        File.WriteAllText(Path.Combine(_folder, "broken.conf"), "actormta {\n  listen = [\"127.0.0.1:25\"\n}\n");
        var r = await RunAsync("config", "check", "--config", "broken.conf");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("broken.conf:3: ", r.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(r.Stderr);
    }

    [Theory]
    [InlineData]
    [InlineData("frobnicate")]
    [InlineData("run", "--no-such-option")]
    public async Task BadUsageExitsTwo(params string[] args)
    {
        var r = await RunAsync(args);
        Assert.Equal(2, r.ExitCode);
        Assert.NotEqual("", r.Stderr);
        AssertNoStackTrace(r.Stderr);
    }

    /// <summary>A loopback port taken by a listening socket of the test's own.</summary>
    private static Socket ListenOnSomePort(out int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return socket;
    }

    [Fact]
    public async Task RunWithThePortInUseFailsWithOneLine()
    {
        using var blocker = ListenOnSomePort(out int port);

        var r = await RunAsync("run", "--set", $"actormta.listen=[\"127.0.0.1:{port}\"]", "--set", "actormta.log.console=off");

        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        Assert.Contains("in use", line, StringComparison.Ordinal);
        AssertNoStackTrace(r.Stderr);
    }

    [Fact]
    public async Task RunWithTheMetricsPortInUseFailsWithOneLineNamingTheKey()
    {
        using var blocker = ListenOnSomePort(out int port);

        var r = await RunAsync("run", "--set", "actormta.listen=[\"127.0.0.1:0\"]", "--set", "actormta.log.console=off",
            "--set", "actormta.metrics.enabled=on", "--set", $"actormta.metrics.address=\"127.0.0.1:{port}\"");

        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"actormta: cannot serve metrics on 127.0.0.1:{port}: Address already in use (actormta.metrics.address)", line);
        AssertNoStackTrace(r.Stderr);
    }

    [Fact]
    public async Task RunListensAndStopsCleanlyOnSigterm()
    {
        using var process = Process.Start(StartInfo(_folder, "run", "--set", "actormta.listen=[\"127.0.0.1:0\"]"))!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            string? listening = null;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    if (line.Contains("listening on", StringComparison.Ordinal))
                    {
                        listening = line;
                        break;
                    }
                }
            }

            Assert.NotNull(listening);
            Assert.Equal(0, Kill(process.Id, 15)); // SIGTERM
            Task<string> rest = process.StandardOutput.ReadToEndAsync();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);

            Assert.Equal(0, process.ExitCode);
            Assert.Equal("", await stderr);
            Assert.Contains("SIGTERM received", await rest, StringComparison.Ordinal);
            string[] mainLog = File.ReadAllLines(Path.Combine(_folder, "data", "log", "mainlog"));
            Assert.Contains("daemon started: pid=", mainLog[0], StringComparison.Ordinal);
            Assert.EndsWith($"pid {process.Id}: SIGTERM received: daemon exiting", mainLog[^1], StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Under_systemd_Type_notify_it_says_READY_once_it_serves_SMTP_and_STOPPING_on_sigterm(bool abstractSocket)
    {
        // systemd's side: a datagram socket named in $NOTIFY_SOCKET, a path or "@" and an abstract name.
        string name = abstractSocket ? "@actormta-notify-" + Guid.NewGuid().ToString("N") : Path.Combine(_folder, "notify");
        using var systemd = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        systemd.Bind(new UnixDomainSocketEndPoint(abstractSocket ? "\0" + name[1..] : name));
        var psi = StartInfo(_folder, "run", "--set", "actormta.listen=[\"127.0.0.1:0\"]");
        psi.Environment["NOTIFY_SOCKET"] = name;
        using var process = Process.Start(psi)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            string ready = await ReceiveAsync(systemd);
            var status = System.Text.RegularExpressions.Regex.Match(ready, @"^READY=1\nMAINPID=(\d+)\nSTATUS=listening for SMTP on \[127\.0\.0\.1\]:(\d+)$");
            Assert.True(status.Success, ready);
            Assert.Equal(process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), status.Groups[1].Value);
            using (var client = new TcpClient())
            {
                await client.ConnectAsync(IPAddress.Loopback, int.Parse(status.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
                var banner = new byte[4];
                await client.GetStream().ReadExactlyAsync(banner);
                Assert.Equal("220 ", System.Text.Encoding.ASCII.GetString(banner));
            }

            Assert.Equal(0, Kill(process.Id, 15)); // SIGTERM
            Assert.Equal("STOPPING=1\nSTATUS=SIGTERM received: stopping", await ReceiveAsync(systemd));
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Equal("", await stderr);
            await stdout;
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>
    /// The daemon is started with SIGHUP ignored, as under nohup or a supervisor that ignores it: the
    /// harder case, because the runtime leaves an inherited ignore alone unless the daemon takes the
    /// signal back. The reload must happen all the same, whatever the test runner itself inherited.
    /// </summary>
    [Fact]
    public async Task RunMakesASelfSignedCertificateOnAFreshInstallAndRereadsItOnSighup()
    {
        using var process = Process.Start(WithHangupIgnored(StartInfo(_folder, "run", "--set", "actormta.listen=[\"127.0.0.1:0\"]")))!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string mainLogPath = Path.Combine(_folder, "data", "log", "mainlog");
        try
        {
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line && !line.Contains("listening on", StringComparison.Ordinal)) { }
            }

            string certificate = Path.Combine(_folder, "data", "tls", "selfsigned.crt");
            Assert.True(File.Exists(certificate));
            // A user added while running: nothing authenticates meanwhile, so only the SIGHUP reads the file.
            string usersFile = Path.Combine(_folder, "data", "users");
            ActorMta.Auth.UsersFile.Set(usersFile, "alice", ActorMta.Auth.PasswordHash.Create("wonderland", ActorMta.Auth.PasswordHash.MinimumIterations));
            Assert.Equal(0, Kill(process.Id, 1)); // SIGHUP: re-read the certificate files and the users file, keep running
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(ReadShared(mainLogPath) is var log && log.Contains("TLS: certificate reloaded", StringComparison.Ordinal) && log.Contains(" loaded: 1 user", StringComparison.Ordinal))
                   && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            Assert.False(process.HasExited);
            Assert.Equal(0, Kill(process.Id, 15));
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);

            Assert.Equal(0, process.ExitCode);
            Assert.Equal("", await stderr);
            string[] mainLog = File.ReadAllLines(mainLogPath);
            Assert.Contains("daemon started: pid=", mainLog[0], StringComparison.Ordinal);
            Assert.EndsWith($"TLS: no certificate configured (actormta.tls.certificate): generated a self-signed certificate for {Dns.GetHostName()} in {certificate}", mainLog[1], StringComparison.Ordinal);
            Assert.Contains(mainLog, l => l.Contains($"TLS: certificate reloaded: \"CN={Dns.GetHostName()}\" valid until ", StringComparison.Ordinal));
            Assert.Contains(mainLog, l => l.Contains(" users file ", StringComparison.Ordinal) && l.EndsWith("/users loaded: 1 user", StringComparison.Ordinal));
            Assert.Contains(mainLog, l => l.EndsWith(" SIGHUP was inherited as ignored (nohup?): handling it anyway, to re-read the TLS certificate files and the users file", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The same command run through a shell that ignores SIGHUP first; exec keeps the ignore (and the pid).</summary>
    private static ProcessStartInfo WithHangupIgnored(ProcessStartInfo psi)
    {
        var shell = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = psi.RedirectStandardOutput,
            RedirectStandardError = psi.RedirectStandardError,
            UseShellExecute = false,
            WorkingDirectory = psi.WorkingDirectory,
        };
        foreach (string a in new[] { "-c", "trap '' HUP; exec \"$@\"", "sh", psi.FileName }.Concat(psi.ArgumentList)) shell.ArgumentList.Add(a);
        foreach (var (key, value) in psi.Environment) shell.Environment[key] = value;
        return shell;
    }

    private static string ReadShared(string path)
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public async Task RunWithMetricsOnLogsTheMetricsAddress()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        using var process = Process.Start(StartInfo(_folder, "run", "--set", "actormta.listen=[\"127.0.0.1:0\"]",
            "--set", "actormta.metrics.enabled=on", "--set", $"actormta.metrics.address=\"127.0.0.1:{port}\""))!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            string? metrics = null;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    if (line.Contains("Metrics on", StringComparison.Ordinal))
                    {
                        metrics = line;
                        break;
                    }
                }
            }

            Assert.NotNull(metrics);
            Assert.Contains($"http://127.0.0.1:{port}/metrics", metrics, StringComparison.Ordinal);
            Assert.Equal(0, Kill(process.Id, 15));
            _ = process.StandardOutput.ReadToEndAsync();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Equal("", await stderr);
            Assert.Contains(File.ReadAllLines(Path.Combine(_folder, "data", "log", "mainlog")),
                l => l.EndsWith($" metrics on http://127.0.0.1:{port}/metrics", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    internal static int Kill(int pid, int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return kill.ExitCode;
    }
}
