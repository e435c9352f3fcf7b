using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.CrashSafety;

/// <summary>
/// The real <c>actormta</c> program as a child process (run by the same dotnet host as the tests),
/// so a test can SIGKILL it and start it again on the same data directory.
/// </summary>
public sealed class ActorMtaProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ActorMtaProcess(Process process, IPEndPoint endPoint)
    {
        _process = process;
        EndPoint = endPoint;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The program's process id (a re-exec under another scheduling policy keeps it).</summary>
    public int ProcessId => _process.Id;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Starts actormta on a free loopback port and waits for its banner.</summary>
    /// <param name="launcher">A command that runs the program, such as <c>chrt --batch 0</c>; none by default.</param>
    public static async Task<ActorMtaProcess> StartAsync(string dataDirectory, IReadOnlyList<string> sets, IReadOnlyList<string>? launcher = null)
    {
        var dll = FindProgram();
        var port = FreePorts.Tcp();
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (launcher is { Count: > 0 })
        {
            foreach (var a in launcher.Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(host);
        }
        foreach (var a in new[] { dll, "run", "--set", $"actormta.listen=[\"127.0.0.1:{port}\"]",
                     "--set", $"actormta.data-directory=\"{dataDirectory}\"" })
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var s in sets)
        {
            psi.ArgumentList.Add("--set");
            psi.ArgumentList.Add(s);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start actormta");
        var mta = new ActorMtaProcess(process, new IPEndPoint(IPAddress.Loopback, port));
        try
        {
            await mta.WaitForBannerAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            mta.Dispose();
            throw;
        }
        return mta;
    }

    /// <summary>SIGKILL: no shutdown hook, no flush, exactly what a power cut leaves behind (minus the page cache).</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: false);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private async Task WaitForBannerAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync(EndPoint, cts.Token);
                var buffer = new byte[512];
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n >= 3 && buffer[0] == (byte)'2' && buffer[1] == (byte)'2' && buffer[2] == (byte)'0')
                {
                    await socket.SendAsync("QUIT\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"actormta did not answer on {EndPoint} (exited: {_process.HasExited}):\n{Output}");
    }

    /// <summary>
    /// actormta.dll from the Host project's own output folder (artifacts layout:
    /// bin/ActorMta.Host/&lt;config&gt;; classic layout: src/ActorMta.Host/bin/&lt;Config&gt;/&lt;tfm&gt;),
    /// where its deps.json matches the files beside it; the copy next to the tests is the fallback.
    /// </summary>
    private static string FindProgram()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var candidates = new List<string>();
        if (here.Parent?.Parent is { } bin)
        {
            candidates.Add(Path.Combine(bin.FullName, "ActorMta.Host", here.Name, "actormta.dll"));
        }
        if (here.Parent?.Parent?.Parent?.Parent?.Parent is { } repo)
        {
            candidates.Add(Path.Combine(repo.FullName, "src", "ActorMta.Host", "bin", here.Parent!.Name, here.Name, "actormta.dll"));
        }
        candidates.Add(Path.Combine(here.FullName, "actormta.dll"));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("actormta.dll not found; looked at:\n" + string.Join("\n", candidates));
    }

}
