using System.Diagnostics;
using System.Net;
using System.Text;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// Exim 4.96 (Debian's exim4-daemon-heavy) with a standalone configuration: accept for one domain,
/// spool with fsync (Exim's default), queue only; deliver to a maildir when asked.
/// Limits that would throttle the load generator are raised; everything else is Exim's default.
/// </summary>
/// <remarks>
/// <para><b>Why queue_only, and delivery after the load.</b> With <c>-odb</c> every accepted message
/// starts its own delivery process, and Exim starts it by re-executing its binary (<c>exim -Mc id</c>,
/// to regain the privileges the reception process gave up; with <c>-C</c> the new process loses
/// them again and logs "exim user lost privilege"). exim4-daemon-heavy links some 40 libraries, so
/// each exec costs tens of milliseconds of CPU: that capped Exim at 16 messages/s here, with a
/// maildir or a blackhole router alike. It measured process start-up, not an MTA. A queue run
/// forks per message without an exec, but still costs ~35 ms of CPU per delivery here (fork of a
/// large process, its transport child, the hints database), ten times Exim's reception: queue
/// runners working during the load would have cut Exim's accepted/s to a fraction.</para>
/// <para>So Exim gets its best case for accepted/s: reception only queues (<c>queue_only</c>, as
/// Exim advises for bursts), nothing delivers during the load. ActorMta delivers while it receives,
/// so its accepted/s pays for its deliveries and Exim's does not: the accepted ratio is a lower
/// bound for ActorMta. Both fsync the spool before the 250 (Exim: -D and -H, 3 fsyncs per message
/// by strace; ActorMta: the spool file and, group-committed, the spool directory). With
/// <c>--exim-deliver</c>, when a row's load is done (<see cref="LoadFinished"/>) four queue runners
/// (<c>exim -q</c>) deliver the queue to the maildir, and delivered/s counts, for both, from the
/// first message of the row to the last file in the maildir; expect minutes per row.</para>
/// <para>Delivery, when Exim does it: both write the maildir file with fsync and journal the
/// delivery (Exim's -J file, ActorMta's spool journal), then remove the spool files. Host lookups,
/// ident (RFC 1413) and TLS are off: no DNS or ident timeouts.</para>
/// </remarks>
public sealed class EximServer : IBenchServer
{
    private readonly Process _daemon;
    private readonly StringBuilder _output;
    private readonly string _dir;

    private readonly bool _batch;

    private EximServer(Process daemon, StringBuilder output, string dir, IPEndPoint endPoint, bool delivers, bool batch)
    {
        Delivers = delivers;
        _batch = batch;
        _daemon = daemon;
        _output = output;
        _dir = dir;
        EndPoint = endPoint;
    }

    public string Name => _batch ? "Exim 4.96 (SCHED_BATCH)" : "Exim 4.96";

    public IPEndPoint EndPoint { get; }

    public int ProcessId => _daemon.Id;

    public int DeliveredCount() => Maildir.CountNew(Path.Combine(_dir, "maildir"));

    /// <summary>Queue runners that skip messages another runner has locked, so four share the queue.</summary>
    public const int QueueRunners = 4;

    private readonly List<Process> _runners = [];

    public bool Delivers { get; }

    public void LoadFinished()
    {
        if (!Delivers) return;
        _runners.RemoveAll(r =>
        {
            if (!r.HasExited) return false;
            r.Dispose();
            return true;
        });
        for (int i = 0; i < QueueRunners; i++)
        {
            _runners.Add(Proc.Start(FindBinary()!, ["-C", Path.Combine(_dir, "exim.conf"), "-q"], _output));
        }
    }

    public static string? FindBinary() =>
        new[] { "/usr/sbin/exim4", "/usr/sbin/exim" }.FirstOrDefault(File.Exists);

    /// <param name="deliver">Run queue runners after each load (<see cref="LoadFinished"/>); without,
    /// Exim only queues and the benchmark reports no delivered/s for it.</param>
    /// <param name="tls">Certificate and key (PEM) to offer STARTTLS to everyone with; none by default.</param>
    /// <param name="batch">Run the daemon (and so every process it forks) under SCHED_BATCH
    /// (<c>chrt --batch 0</c>), the policy ActorMta gives itself by default: to see what the policy
    /// alone is worth to Exim.</param>
    public static async Task<EximServer> StartAsync(bool deliver, (string Certificate, string Key)? tls = null, bool batch = false)
    {
        var exim = FindBinary() ?? throw new InvalidOperationException("Exim is not installed (apt-get install exim4-daemon-heavy)");
        if (Environment.UserName != "root") throw new InvalidOperationException("the Exim benchmark needs root (private -C configuration)");

        var dir = Directory.CreateTempSubdirectory("actormta-bench-exim-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        foreach (var sub in new[] { "spool", "log", "maildir" }) Directory.CreateDirectory(Path.Combine(dir, sub));
        var config = Path.Combine(dir, "exim.conf");
        await File.WriteAllTextAsync(config, $"""
            primary_hostname = exim-bench.test
            spool_directory = {dir}/spool
            log_file_path = {dir}/log/%slog
            pid_file_path = {dir}/exim.pid
            keep_environment =
            host_lookup =
            rfc1413_hosts =
            {(tls is { } files ? $"tls_advertise_hosts = *\ntls_certificate = {files.Certificate}\ntls_privatekey = {files.Key}" : "tls_advertise_hosts =")}
            # Reception only queues; queue runners deliver after the load. See the remarks on the
            # class: -odb would re-exec Exim for every message.
            queue_only
            # Do not let Exim's own throttles cap the measurement.
            smtp_accept_max = 1000
            smtp_connect_backlog = 1024
            smtp_accept_queue_per_connection = 0
            smtp_accept_max_per_connection = 0
            domainlist local_domains = {IBenchServer.Domain}
            acl_smtp_rcpt = acl_rcpt

            begin acl
            acl_rcpt:
              accept domains = +local_domains
                     local_parts = {IBenchServer.Mailbox}
              deny

            begin routers
            local:
              driver = accept
              domains = +local_domains
              local_parts = {IBenchServer.Mailbox}
              transport = maildir

            begin transports
            maildir:
              driver = appendfile
              directory = {dir}/maildir/$local_part_data
              maildir_format
              create_directory
              user = Debian-exim

            begin retry
            * * F,1h,5m

            """);
        File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
        var chown = await Proc.RunAsync("chown", "-R", "Debian-exim:Debian-exim",
            Path.Combine(dir, "spool"), Path.Combine(dir, "log"), Path.Combine(dir, "maildir"));
        if (chown.ExitCode != 0) throw new InvalidOperationException(chown.Output);

        var port = SmtpProbe.FreeLoopbackPort();
        var output = new StringBuilder();
        string[] daemonArgs = ["-C", config, "-bdf", "-oX", $"<; 127.0.0.1.{port}", "-oP", Path.Combine(dir, "exim.pid")];
        var daemon = batch ? Proc.Start("chrt", ["--batch", "0", exim, .. daemonArgs], output) : Proc.Start(exim, daemonArgs, output);
        var server = new EximServer(daemon, output, dir, new IPEndPoint(IPAddress.Loopback, port), deliver, batch);
        try
        {
            await SmtpProbe.WaitForBannerAsync(server.EndPoint, TimeSpan.FromSeconds(15), () => daemon.HasExited,
                () => output.ToString());
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        // The daemon runs in the foreground (-bdf); its reception and delivery children go with it.
        if (!_daemon.HasExited) _daemon.Kill(entireProcessTree: true);
        await _daemon.WaitForExitAsync();
        _daemon.Dispose();
        foreach (var runner in _runners)
        {
            if (!runner.HasExited) runner.Kill(entireProcessTree: true);
            runner.Dispose();
        }
        KillStragglers();
        DeferredCleanup.Add(_dir); // not now: see DeferredCleanup
    }

    /// <summary>
    /// A queue runner or delivery forked while the tree was being killed outlives the daemon (its
    /// parent becomes init). Every process of this instance has its private configuration file on
    /// the command line; those, and only those, are killed by pid.
    /// </summary>
    private void KillStragglers()
    {
        string config = Path.Combine(_dir, "exim.conf");
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out int pid)) continue;
            try
            {
                var args = File.ReadAllText(Path.Combine(proc, "cmdline")).Split('\0');
                if (!args.Contains(config)) continue;
                using var p = Process.GetProcessById(pid);
                p.Kill();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
                or System.ComponentModel.Win32Exception)
            {
                // Gone already, or not ours to read.
            }
        }
    }
}
