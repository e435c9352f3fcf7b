using System.Diagnostics;
using System.Net;
using System.Text;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// Exim 4.96 (Debian's exim4-daemon-heavy) with a standalone configuration doing the same work as
/// ActorMta: accept for one domain, spool with fsync (Exim's default), deliver to a maildir.
/// Limits that would throttle the load generator are raised; everything else is Exim's default.
/// </summary>
public sealed class EximServer : IBenchServer
{
    private readonly Process _daemon;
    private readonly StringBuilder _output;
    private readonly string _dir;

    private EximServer(Process daemon, StringBuilder output, string dir, IPEndPoint endPoint)
    {
        _daemon = daemon;
        _output = output;
        _dir = dir;
        EndPoint = endPoint;
    }

    public string Name => "Exim 4.96";

    public IPEndPoint EndPoint { get; }

    public int ProcessId => _daemon.Id;

    public int DeliveredCount() => Maildir.CountNew(Path.Combine(_dir, "maildir"));

    public static string? FindBinary() =>
        new[] { "/usr/sbin/exim4", "/usr/sbin/exim" }.FirstOrDefault(File.Exists);

    public static async Task<EximServer> StartAsync()
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
            tls_advertise_hosts =
            # Do not let Exim's own throttles cap the measurement.
            smtp_accept_max = 1000
            smtp_connect_backlog = 1024
            smtp_accept_queue_per_connection = 0
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
        var daemon = Proc.Start(exim, ["-C", config, "-bdf", "-odb", "-oX", $"<; 127.0.0.1.{port}", "-oP", Path.Combine(dir, "exim.pid")], output);
        var server = new EximServer(daemon, output, dir, new IPEndPoint(IPAddress.Loopback, port));
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
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
