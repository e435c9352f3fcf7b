using System.Diagnostics;
using System.Text;
using ActorMta.Benchmarks.Inbound;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Outbound;

/// <summary>
/// Exim 4.96's side, set up to do the same work as fast as Exim can:
/// <list type="bullet">
/// <item>a private instance (<c>-C</c>) with a <c>manualroute</c> router sending dN.bench to
/// 127.0.0.(N+1) on the sink's port (<c>self = send</c>, <c>allow_localhost</c>: the addresses are
/// this host's), an smtp transport with its defaults (PIPELINING, CHUNKING, up to
/// <c>connection_max_messages</c> = 500 messages per connection) except TLS, which is off
/// (<c>hosts_avoid_tls</c>, no CA bundle to load in each process) as on ActorMta's side;</item>
/// <item>the queue filled first, untimed, with one <c>exim -odq -bS</c> (batched SMTP, queue only);</item>
/// <item>the timed part: <paramref name="runners"/> two-stage forced queue runners started together
/// (<c>exim -qqf</c>: the first stage routes every message and records which wait for which host,
/// so each delivery process passes its open connection on to the next message for that host), with
/// <c>queue_fast_ramp</c> so deliveries start while the first stage is still routing. One runner by
/// default: each runner's first stage routes the whole queue and parallel runners collide on locks
/// (see the README). The timing ends when every runner has exited and the queue is empty.</item>
/// </list>
/// Both the spool (Exim fsyncs its journal and spool files by default) and the main log are
/// written as in production.
/// </summary>
public static class EximQueueRun
{
    /// <summary>How long the timed queue run may take before the benchmark gives up (--timeout-minutes).</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);

    public sealed record Result(TimeSpan Elapsed, int Delivered, int Connections, string MainLog);

    public static async Task<Result> RunAsync(BenchQueue queue, int sinkPort, int runners)
    {
        var exim = EximServer.FindBinary() ?? throw new InvalidOperationException("Exim is not installed (apt-get install exim4-daemon-heavy)");
        if (Environment.UserName != "root") throw new InvalidOperationException("the Exim benchmark needs root (private -C configuration)");

        var dir = Directory.CreateTempSubdirectory("actormta-outbench-exim-").FullName;
        try
        {
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
            foreach (var sub in new[] { "spool", "log" }) Directory.CreateDirectory(Path.Combine(dir, sub));
            var routes = string.Join(" ; ", Enumerable.Range(0, queue.Destinations).Select(i => $"{BenchQueue.Domain(i)} {BenchQueue.Address(i)}::{sinkPort}"));
            var config = Path.Combine(dir, "exim.conf");
            await File.WriteAllTextAsync(config, $"""
                primary_hostname = client.bench.example
                spool_directory = {dir}/spool
                log_file_path = {dir}/log/%slog
                pid_file_path = {dir}/exim.pid
                keep_environment =
                host_lookup =
                rfc1413_hosts =
                tls_advertise_hosts =
                queue_fast_ramp = true

                begin routers
                bench:
                  driver = manualroute
                  domains = *.bench
                  route_list = {routes}
                  transport = remote_smtp
                  self = send

                begin transports
                remote_smtp:
                  driver = smtp
                  allow_localhost
                  hosts_avoid_tls = *
                  # No TLS here: spare every delivery process loading the system CA bundle.
                  tls_verify_certificates =

                begin retry
                * * F,1h,5m

                """);
            File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
            var chown = await Proc.RunAsync("chown", "-R", "Debian-exim:Debian-exim", Path.Combine(dir, "spool"), Path.Combine(dir, "log"));
            if (chown.ExitCode != 0) throw new InvalidOperationException(chown.Output);

            await FillAsync(exim, config, queue);
            var inputDir = Path.Combine(dir, "spool", "input");
            if (Queued(inputDir) != queue.Messages) throw new InvalidOperationException($"Exim queued {Queued(inputDir)} of {queue.Messages}");

            var output = new StringBuilder();
            var sw = Stopwatch.StartNew();
            var processes = Enumerable.Range(0, runners).Select(_ => Proc.Start(exim, ["-C", config, "-qqf"], output)).ToList();
            foreach (var p in processes) await p.WaitForExitAsync();
            var deadline = DateTime.UtcNow + Timeout;
            while (Queued(inputDir) > 0)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"Exim: {Queued(inputDir)} messages still queued after {Timeout}\n{output}");
                await Task.Delay(10);
            }
            var elapsed = sw.Elapsed;
            foreach (var p in processes) p.Dispose();

            var mainLog = Path.Combine(dir, "log", "mainlog");
            var (delivered, connections) = MainLogCount.Deliveries(mainLog);
            var copy = Path.Combine(Path.GetTempPath(), $"actormta-outbench-exim-mainlog-{Environment.ProcessId}");
            File.Copy(mainLog, copy, overwrite: true);
            return new Result(elapsed, delivered, connections, copy);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Header files in Exim's input directory (also split into subdirectories when split_spool_directory is set).</summary>
    private static int Queued(string inputDir) =>
        Directory.Exists(inputDir) ? Directory.EnumerateFiles(inputDir, "*-H", SearchOption.AllDirectories).Count() : 0;

    /// <summary>One batched-SMTP process queues everything (-odq): not timed.</summary>
    private static async Task FillAsync(string exim, string config, BenchQueue queue)
    {
        var psi = new ProcessStartInfo(exim) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-C", config, "-odq", "-bS" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start exim -bS");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var input = p.StandardInput;
        input.NewLine = "\r\n";
        for (var i = 0; i < queue.Messages; i++)
        {
            await input.WriteLineAsync($"MAIL FROM:<{BenchQueue.Sender}>");
            await input.WriteLineAsync($"RCPT TO:<{queue.Recipient(i)}>");
            await input.WriteLineAsync("DATA");
            await input.WriteAsync(Encoding.ASCII.GetString(queue.Body(i))); // no line starts with a dot
            await input.WriteLineAsync(".");
        }
        await input.WriteLineAsync("QUIT");
        input.Close();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"exim -bS failed ({p.ExitCode}):\n{await stdout}\n{await stderr}");
    }
}
