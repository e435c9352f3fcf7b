using System.Diagnostics;
using System.Text;

namespace ActorMta.Benchmarks.Support;

/// <summary>Starting and stopping the child processes of a benchmark (servers, load generators).</summary>
public static class Proc
{
    public static Process Start(string fileName, IEnumerable<string> args, StringBuilder? output = null,
        string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {fileName}");
        p.OutputDataReceived += (_, e) => Append(output, e.Data);
        p.ErrorDataReceived += (_, e) => Append(output, e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static Task<(int ExitCode, string Output)> RunAsync(string fileName, params string[] args) =>
        RunInAsync(null, fileName, args);

    public static async Task<(int ExitCode, string Output)> RunInAsync(string? workingDirectory, string fileName, params string[] args)
    {
        var output = new StringBuilder();
        using var p = Start(fileName, args, output, workingDirectory);
        await p.WaitForExitAsync();
        p.WaitForExit(); // drain the asynchronous output readers
        return (p.ExitCode, output.ToString());
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>; only this process, by its id.</summary>
    public static async Task StopAsync(Process p, TimeSpan grace)
    {
        if (p.HasExited) return;
        await RunAsync("kill", "-TERM", p.Id.ToString());
        using var cts = new CancellationTokenSource(grace);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
    }

    /// <summary>Resident set size of a process in KiB, from /proc.</summary>
    public static long RssKiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
            }
        }
        throw new InvalidOperationException($"no VmRSS for {pid}");
    }

    private static void Append(StringBuilder? sb, string? line)
    {
        if (sb is null || line is null) return;
        lock (sb) sb.AppendLine(line);
    }
}
