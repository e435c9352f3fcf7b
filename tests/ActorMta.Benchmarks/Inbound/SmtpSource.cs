using System.Diagnostics;
using System.Net;
using System.Text;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// Postfix's smtp-source as the load generator. Postfix conflicts with exim4 as a package, so
/// Debian's postfix package is downloaded (<c>apt-get download</c>) and unpacked (<c>dpkg -x</c>)
/// into a cache folder, and smtp-source runs from there with its libpostfix-*.so on
/// LD_LIBRARY_PATH.
/// One smtp-source process opens its sessions one after another, so real concurrency takes
/// several processes.
/// </summary>
public static class SmtpSource
{
    /// <summary><c>$ACTORMTA_BENCH_CACHE</c>, else <c>~/.cache/actormta-bench</c>.</summary>
    public static string CacheRoot =>
        Environment.GetEnvironmentVariable("ACTORMTA_BENCH_CACHE") is { Length: > 0 } c ? c
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "actormta-bench");

    /// <summary>Where Debian's postfix package is unpacked (smtp-source, smtp-sink and their libraries).</summary>
    public static string PostfixRoot => Path.Combine(CacheRoot, "postfix");

    public static string Binary => Path.Combine(PostfixRoot, "usr", "sbin", "smtp-source");

    /// <summary>LD_LIBRARY_PATH for the unpacked Postfix tools (libpostfix-*.so).</summary>
    public static Dictionary<string, string> LibraryPathEnvironment => new()
    {
        ["LD_LIBRARY_PATH"] = Path.Combine(PostfixRoot, "usr", "lib", "postfix"),
    };

    /// <summary>Downloads and unpacks Debian's postfix package once; fails early when it cannot.</summary>
    public static async Task EnsureAsync()
    {
        if (File.Exists(Binary)) return;
        Directory.CreateDirectory(CacheRoot);
        var work = Directory.CreateTempSubdirectory("postfix-download-").FullName;
        try
        {
            var download = await Proc.RunInAsync(work, "apt-get", "download", "postfix");
            if (download.ExitCode != 0)
            {
                await Proc.RunAsync("apt-get", "update", "-qq");
                download = await Proc.RunInAsync(work, "apt-get", "download", "postfix");
            }
            var deb = Directory.GetFiles(work, "postfix_*.deb").SingleOrDefault()
                ?? throw new InvalidOperationException($"apt-get download postfix failed:\n{download.Output}");
            var staging = PostfixRoot + ".new";
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            var unpack = await Proc.RunAsync("dpkg", "-x", deb, staging);
            if (unpack.ExitCode != 0) throw new InvalidOperationException($"dpkg -x failed:\n{unpack.Output}");
            if (Directory.Exists(PostfixRoot)) Directory.Delete(PostfixRoot, recursive: true);
            Directory.Move(staging, PostfixRoot);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// Sends <paramref name="messages"/> messages of <paramref name="size"/> bytes over
    /// <paramref name="sessions"/> parallel sessions reusing their connections (<c>-d</c>), spread
    /// over up to <paramref name="maxProcesses"/> smtp-source processes. Returns the wall time.
    /// </summary>
    public static async Task<TimeSpan> RunAsync(IPEndPoint server, int sessions, int messages, int size, int maxProcesses = 10)
    {
        var processes = Math.Min(sessions, maxProcesses);
        var output = new StringBuilder();
        var sw = Stopwatch.StartNew();
        var running = new List<Process>();
        for (var i = 0; i < processes; i++)
        {
            var share = messages / processes + (i < messages % processes ? 1 : 0);
            var sessionShare = sessions / processes + (i < sessions % processes ? 1 : 0);
            running.Add(Proc.Start(Binary,
            [
                "-d", "-s", sessionShare.ToString(), "-m", share.ToString(), "-l", size.ToString(),
                "-M", "client.test", "-f", "bench@client.test", "-t", $"{IBenchServer.Mailbox}@{IBenchServer.Domain}",
                $"{server.Address}:{server.Port}",
            ], output, environment: LibraryPathEnvironment));
        }
        foreach (var p in running)
        {
            await p.WaitForExitAsync();
        }
        sw.Stop();
        var failed = running.Where(p => p.ExitCode != 0).Select(p => p.ExitCode).ToList();
        foreach (var p in running) p.Dispose();
        if (failed.Count > 0) throw new InvalidOperationException($"smtp-source failed ({string.Join(",", failed)}):\n{output}");
        return sw.Elapsed;
    }
}
