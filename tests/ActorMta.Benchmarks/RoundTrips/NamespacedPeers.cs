using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.RoundTrips;

/// <summary>An ActorMta node (the real <c>actormta run</c> program) running in the server namespace.</summary>
internal sealed class NamespacedActorMtaServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private NamespacedActorMtaServer(Process process, string dir, IPEndPoint endPoint)
    {
        _process = process;
        _dir = dir;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>
    /// <c>actormta run</c> (the real program) accepting for bench.example into a maildir; early
    /// pipelining and CHUNKING advertised (the defaults, stated anyway).
    /// </summary>
    /// <param name="tlsOnConnect">A TLS-on-connect listener (RFC 8314) beside the SMTP one, which offers STARTTLS.</param>
    /// <param name="pki">The certificate both listeners present.</param>
    public static async Task<NamespacedActorMtaServer> StartAsync(string ns, IPEndPoint endPoint, IPEndPoint tlsOnConnect, BenchCertificates pki)
    {
        var program = FindProgram();
        var dir = Directory.CreateTempSubdirectory("actormta-rtt-server-").FullName;
        string[] sets =
        [
            $"actormta.listen=[\"{endPoint}\"]",
            $"actormta.data-directory=\"{dir}\"",
            "actormta.policy.local-domains=[\"bench.example\"]",
            "actormta.smtp.pipelining-connect-advertise-hosts=[\"*\"]",
            "actormta.smtp.chunking-advertise-hosts=[\"*\"]",
            "actormta.spool.fsync=on",
            "actormta.log.console=off",
            "actormta.log.pipelining=on",
            $"actormta.listen-tls-on-connect=[\"{tlsOnConnect}\"]",
            $"actormta.tls.certificate=\"{pki.CertificatePath}\"",
            $"actormta.tls.private-key=\"{pki.KeyPath}\"",
        ];
        var output = new StringBuilder();
        var dotnet = Environment.ProcessPath is { } host && Path.GetFileName(host) == "dotnet" ? host : "dotnet";
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns, dotnet, program, "run" }.Concat(sets.SelectMany(s => new[] { "--set", s })))
            psi.ArgumentList.Add(a);
        psi.Environment.Remove("DOTNET_STARTUP_HOOKS"); // our hook is for this process only
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start actormta");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new NamespacedActorMtaServer(process, dir, endPoint);
        try
        {
            await RoundTripBenchmark.WaitForBannerAsync(endPoint, TimeSpan.FromSeconds(90), () => process.HasExited, () => output.ToString());
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>
    /// actormta.dll in the Host project's own output folder, next to the deps.json that describes it:
    /// artifacts layout <c>bin/ActorMta.Host/&lt;config&gt;</c> beside <c>bin/ActorMta.Benchmarks/&lt;config&gt;</c>,
    /// or the classic <c>src/ActorMta.Host/bin/&lt;Config&gt;/&lt;tfm&gt;</c>.
    /// </summary>
    private static string FindProgram()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tried = new List<string>();
        if (here.Parent?.Parent is { } artifactsBin) tried.Add(Path.Combine(artifactsBin.FullName, "ActorMta.Host", here.Name, "actormta.dll"));
        if (here.Parent is { } config && config.Parent?.Parent?.Parent?.Parent is { } repo)
            tried.Add(Path.Combine(repo.FullName, "src", "ActorMta.Host", "bin", config.Name, here.Name, "actormta.dll"));
        return tried.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("actormta.dll not found (build src/ActorMta.Host in the same configuration); tried: " + string.Join(", ", tried));
    }

    public async ValueTask DisposeAsync()
    {
        await Proc.StopAsync(_process, TimeSpan.FromSeconds(10));
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A private Exim 4.96 instance: root-owned config (<c>exim -C</c>), folders owned by Debian-exim.</summary>
internal abstract partial class NamespacedExim : IAsyncDisposable
{
    protected NamespacedExim(string role)
    {
        Dir = Directory.CreateTempSubdirectory($"actormta-rtt-exim-{role}-").FullName;
        File.SetUnixFileMode(Dir, (UnixFileMode)0b111_101_101);
        foreach (var sub in new[] { "spool", "log", "maildir" }) Directory.CreateDirectory(Path.Combine(Dir, sub));
        ConfigPath = Path.Combine(Dir, "exim.conf");
    }

    protected string Dir { get; }

    protected string ConfigPath { get; }

    protected static string Exim => File.Exists("/usr/sbin/exim4") ? "/usr/sbin/exim4" : "exim";

    protected string Common(string hostname, string tls = "tls_advertise_hosts =") => $"""
        primary_hostname = {hostname}
        spool_directory = {Dir}/spool
        log_file_path = {Dir}/log/%slog
        pid_file_path = {Dir}/exim.pid
        keep_environment =
        host_lookup =
        rfc1413_hosts =
        {tls}
        log_selector = +pipelining +deliver_time +millisec

        """;

    /// <summary>Copies a PEM file into this instance's tls folder, owned by Debian-exim (its processes read it after dropping root).</summary>
    protected async Task<string> OwnCopyAsync(string file, string name)
    {
        var dir = Path.Combine(Dir, "tls");
        Directory.CreateDirectory(dir);
        var copy = Path.Combine(dir, name);
        File.Copy(file, copy, overwrite: true);
        var chown = await Proc.RunAsync("chown", "-R", "Debian-exim:Debian-exim", dir);
        if (chown.ExitCode != 0) throw new InvalidOperationException("chown: " + chown.Output);
        return copy;
    }

    protected async Task WriteConfigAsync(string text)
    {
        await File.WriteAllTextAsync(ConfigPath, text);
        File.SetUnixFileMode(ConfigPath, (UnixFileMode)0b110_100_100);
        var chown = await Proc.RunAsync("chown", "-R", "Debian-exim:Debian-exim",
            Path.Combine(Dir, "spool"), Path.Combine(Dir, "log"), Path.Combine(Dir, "maildir"));
        if (chown.ExitCode != 0) throw new InvalidOperationException("chown: " + chown.Output);
    }

    public string MainLog()
    {
        var path = Path.Combine(Dir, "log", "mainlog");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    public virtual ValueTask DisposeAsync()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b")]
    protected static partial Regex MessageId();
}

/// <summary>Exim as the server, a foreground daemon in the server namespace: PIPECONNECT and CHUNKING for everyone.</summary>
internal sealed class NamespacedEximServer : NamespacedExim
{
    private Process? _daemon;

    private NamespacedEximServer() : base("server") { }

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.None, 0);

    public const string Hostname = "exim-server.bench.example";

    /// <param name="tlsOnConnectPort">Also listens there with TLS from the first byte (tls_on_connect_ports); STARTTLS is offered on the other.</param>
    public static async Task<NamespacedEximServer> StartAsync(string ns, IPEndPoint endPoint, int tlsOnConnectPort, BenchCertificates pki)
    {
        var server = new NamespacedEximServer { EndPoint = endPoint };
        var certificate = await server.OwnCopyAsync(pki.CertificatePath, "server.crt");
        var key = await server.OwnCopyAsync(pki.KeyPath, "server.key");
        var tls = $"tls_advertise_hosts = *\ntls_certificate = {certificate}\ntls_privatekey = {key}\ntls_on_connect_ports = {tlsOnConnectPort}";
        await server.WriteConfigAsync(server.Common(Hostname, tls) + $"""
            domainlist local_domains = bench.example
            acl_smtp_rcpt = acl_rcpt
            pipelining_connect_advertise_hosts = *
            chunking_advertise_hosts = *

            begin acl
            acl_rcpt:
              accept domains = +local_domains
                     local_parts = u
              deny   message = relay not permitted

            begin routers
            local:
              driver = accept
              domains = +local_domains
              local_parts = u
              transport = maildir

            begin transports
            maildir:
              driver = appendfile
              directory = {server.Dir}/maildir/u
              maildir_format
              create_directory
              user = Debian-exim

            begin retry
            * * F,1h,5m

            """);
        var output = new StringBuilder();
        server._daemon = RoundTripBenchmark.StartInNamespace(ns, Exim,
            ["-C", server.ConfigPath, "-bdf", "-odb", "-oX", $"<; {endPoint.Address}.{endPoint.Port} ; {endPoint.Address}.{tlsOnConnectPort}",
             "-oP", Path.Combine(server.Dir, "exim.pid")], output);
        try
        {
            await RoundTripBenchmark.WaitForBannerAsync(endPoint, TimeSpan.FromSeconds(30), () => server._daemon.HasExited,
                () => output + "\n" + server.MainLog());
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_daemon is not null)
        {
            await Proc.StopAsync(_daemon, TimeSpan.FromSeconds(10));
            _daemon.Dispose();
        }
        await base.DisposeAsync();
    }
}

/// <summary>
/// Exim as the client, in this process's namespace: a manualroute to the server and an smtp
/// transport with <c>hosts_pipe_connect = *</c> (or unset). Each delivery is <c>exim -M id</c>: one connection.
/// </summary>
internal sealed partial class NamespacedEximClient : NamespacedExim
{
    private static readonly string Message =
        "Message-ID: <bench@client.bench.example>\nDate: Sun, 29 Nov 2026 12:00:00 +0000\nFrom: bench@client.bench.example\n"
        + "To: u@bench.example\nSubject: round trips\n\n"
        + string.Concat(Enumerable.Range(0, 12).Select(i => $"The quick brown fox jumps over the lazy dog, line {i}.\n"));

    private NamespacedEximClient() : base("client") { }

    /// <param name="tls">None: hosts_avoid_tls = *; StartTls: STARTTLS verified against <paramref name="caFile"/>; OnConnect: protocol = smtps.</param>
    /// <param name="fastOpen">hosts_try_fastopen = *.</param>
    public static async Task<NamespacedEximClient> CreateAsync(IPEndPoint server, bool pipeConnect, TlsMode tls = TlsMode.None, bool fastOpen = false,
        string? caFile = null)
    {
        var client = new NamespacedEximClient();
        var tlsOptions = tls == TlsMode.None
            ? "hosts_avoid_tls = *"
            : $"tls_verify_certificates = {await client.OwnCopyAsync(caFile!, "ca.crt")}\n  tls_verify_hosts = *"
              + (tls == TlsMode.OnConnect ? "\n  protocol = smtps" : "");
        await client.WriteConfigAsync(client.Common("exim-client.bench.example") + $"""

            begin routers
            to_server:
              driver = manualroute
              route_list = * {server.Address}::{server.Port}
              transport = to_server

            begin transports
            to_server:
              driver = smtp
              {tlsOptions}
              {(pipeConnect ? "hosts_pipe_connect = *" : "")}
              {(fastOpen ? "hosts_try_fastopen = *" : "")}

            begin retry
            * * F,1h,5m

            """);
        return client;
    }

    /// <summary>
    /// Queues one message (not timed), then times <c>exim -M</c>: the whole delivery process, and
    /// Exim's own <c>DT=</c> from its <c>=&gt;</c> line (<c>+deliver_time +millisec</c>); milliseconds.
    /// </summary>
    public async Task<(double Wall, double Dt)> DeliverOneAsync()
    {
        var queue = await RunAsync(["-odq", "-f", "bench@client.bench.example", "u@bench.example"], Message);
        if (queue.ExitCode != 0) throw new InvalidOperationException("exim -odq: " + queue.Output);
        var listing = await RunAsync(["-bpru"], null);
        var id = MessageId().Matches(listing.Output).Select(m => m.Value).Distinct().Single();

        var sw = Stopwatch.StartNew();
        var deliver = await RunAsync(["-M", id], null);
        var elapsed = sw.Elapsed.TotalMilliseconds;
        if (deliver.ExitCode != 0 || !MainLog().Contains($"{id} Completed", StringComparison.Ordinal))
            throw new InvalidOperationException($"exim -M {id} (exit {deliver.ExitCode}): {deliver.Output}\n{MainLog()}");
        var line = MainLog().Split('\n').Last(l => l.Contains($"{id} => ", StringComparison.Ordinal));
        LastDeliveryLine = line;
        var dt = DeliverTime().Match(line);
        return (elapsed, dt.Success ? double.Parse(dt.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1000 : double.NaN);
    }

    /// <summary>The last delivery's => line (for the TLS and L fields).</summary>
    public string LastDeliveryLine { get; private set; } = "";

    [GeneratedRegex(@" DT=([0-9.]+)s")]
    private static partial Regex DeliverTime();

    private async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyList<string> args, string? stdin)
    {
        var psi = new ProcessStartInfo(Exim)
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-C");
        psi.ArgumentList.Add(ConfigPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start exim");
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }
}
