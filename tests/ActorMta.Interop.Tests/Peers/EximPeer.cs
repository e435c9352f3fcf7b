using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using ActorMta.Interop.Tests.Support;
using ActorMta.Interop.Tests.Targets;

namespace ActorMta.Interop.Tests.Peers;

/// <summary>
/// One private Exim 4.96 instance: its own root-owned configuration file (<c>exim -C</c>), spool,
/// log and maildir folders owned by Debian-exim, all under a temporary folder. See
/// shared/notes/peers.md for why it is set up this way.
/// </summary>
public abstract partial class EximPeer : IAsyncDisposable
{
    private const string EximUser = "Debian-exim";

    protected EximPeer(string role)
    {
        Binary = PeerBinaries.Require(PeerBinaries.Exim);
        Dir = new TempDir($"actormta-exim-{role}-");
        foreach (var sub in new[] { "spool", "log", "maildir" }) Directory.CreateDirectory(Dir.Combine(sub));
        ConfigPath = Dir.Combine("exim.conf");
    }

    public string Binary { get; }

    public TempDir Dir { get; }

    public string ConfigPath { get; }

    public string MainLogPath => Dir.Combine("log", "mainlog");

    public IReadOnlyList<string> MainLogLines() => SmtpTargetExtensions.ReadLog(MainLogPath);

    /// <summary>Settings every instance shares: private folders, no DNS, no ident, quiet environment.</summary>
    /// <param name="tls">Main-section TLS options; by default none (no STARTTLS offered).</param>
    protected string CommonConfig(string hostname, string tls = "tls_advertise_hosts =") => $"""
        primary_hostname = {hostname}
        spool_directory = {Dir.Combine("spool")}
        log_file_path = {Dir.Combine("log")}/%slog
        pid_file_path = {Dir.Combine("exim.pid")}
        keep_environment =
        host_lookup =
        rfc1413_hosts =
        log_selector = +pipelining +received_recipients
        {tls}

        """;

    /// <summary>Writes the configuration (owned by root, mode 0644) and hands the folders to Exim's user.</summary>
    protected async Task WriteConfigAsync(string text)
    {
        await File.WriteAllTextAsync(ConfigPath, text);
        File.SetUnixFileMode(ConfigPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        (await ProcessRunner.RunAsync("chown", ["-R", $"{EximUser}:{EximUser}",
            Dir.Combine("spool"), Dir.Combine("log"), Dir.Combine("maildir")])).EnsureSuccess();
    }

    protected Task<ProcessResult> RunEximAsync(IReadOnlyList<string> args, string? stdin = null) =>
        ProcessRunner.RunAsync(Binary, ["-C", ConfigPath, .. args], stdin, TimeSpan.FromSeconds(60));

    public virtual ValueTask DisposeAsync()
    {
        Dir.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b")]
    protected static partial Regex MessageIdPattern();
}

/// <summary>What one <see cref="EximClient.SendAsync"/> did.</summary>
/// <param name="Id">Exim's message id on the client.</param>
/// <param name="Transmitted">The message exactly as Exim transmits it (<c>exim -Mvc</c>), LF line ends.</param>
/// <param name="DeliveryLine">The client's <c>=&gt;</c> main-log line.</param>
public sealed record EximDelivery(string Id, string Transmitted, string DeliveryLine)
{
    /// <summary>The space-separated fields of the delivery line (e.g. <c>L</c>, <c>L*</c>, <c>K</c>).</summary>
    public IReadOnlyList<string> Fields => DeliveryLine.Split(' ');
}

/// <summary>
/// Exim as an SMTP client: routes every address to one <c>host::port</c> with early pipelining
/// (<c>hosts_pipe_connect = *</c>) allowed. Each <see cref="SendAsync"/> is its own connection.
/// </summary>
public sealed class EximClient : EximPeer
{
    private EximClient() : base("client") { }

    public const string Hostname = "exim-client.test";

    /// <param name="tlsAuthority">
    /// A CA certificate (PEM): the client then uses STARTTLS when offered (Exim's default) and
    /// verifies against that CA where it can; without it TLS is avoided (<c>hosts_avoid_tls = *</c>).
    /// </param>
    public static async Task<EximClient> CreateAsync(IPEndPoint server, string? tlsAuthority = null)
    {
        var client = new EximClient();
        var tlsOptions = "hosts_avoid_tls = *";
        if (tlsAuthority is not null)
        {
            var copy = client.Dir.Combine("ca.crt");
            File.Copy(tlsAuthority, copy);
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            tlsOptions = $"tls_verify_certificates = {copy}";
        }
        await client.WriteConfigAsync(client.CommonConfig(Hostname) + $"""

            begin routers
            to_target:
              driver = manualroute
              route_list = * {server.Address}::{server.Port}
              transport = to_target
              self = send

            begin transports
            to_target:
              driver = smtp
              allow_localhost
              {tlsOptions}
              hosts_pipe_connect = *

            begin retry
            * * F,1h,5m

            """);
        return client;
    }

    /// <summary>
    /// Queues the message (<c>-odq</c>), records exactly what Exim will transmit (<c>-Mvc</c>),
    /// then delivers it in the foreground (<c>-M</c>): one delivery, one SMTP connection.
    /// </summary>
    public async Task<EximDelivery> SendAsync(string sender, string recipient, string message)
    {
        var before = await QueuedIdsAsync();
        (await RunEximAsync(["-odq", "-f", sender, recipient], message)).EnsureSuccess();
        var id = (await QueuedIdsAsync()).Except(before).Single();

        var transmitted = (await RunEximAsync(["-Mvc", id])).EnsureSuccess().StdOut;
        var deliver = await RunEximAsync(["-M", id]);

        var line = MainLogLines().LastOrDefault(l => l.Contains($" {id} => ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException(
                $"Exim did not deliver {id} (exit {deliver.ExitCode}): {deliver.StdErr}\nclient main log:\n"
                + string.Join('\n', MainLogLines()));
        return new EximDelivery(id, transmitted, line);
    }

    private async Task<HashSet<string>> QueuedIdsAsync()
    {
        var listing = (await RunEximAsync(["-bp"])).EnsureSuccess().StdOut;
        return MessageIdPattern().Matches(listing).Select(m => m.Value).ToHashSet();
    }
}

/// <summary>
/// Exim as an SMTP server (foreground daemon on loopback) accepting for one domain and delivering
/// to maildirs. It advertises PIPELINING, PIPECONNECT and CHUNKING to everyone.
/// </summary>
public sealed class EximServer : EximPeer, ISmtpTarget
{
    private BackgroundProcess? _daemon;

    private EximServer() : base("server") { }

    public const string Hostname = "exim-server.test";

    public string Name => "Exim 4.96";

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    public string MaildirRoot => Dir.Combine("maildir");

    public IReadOnlyList<string> DeliveredFiles(string localPart) => SmtpTargetExtensions.MaildirNew(MaildirRoot, localPart);

    /// <summary>
    /// A banner delay that makes Exim's "early pipelining used" (<c>L*</c>) deterministic. Exim polls for
    /// client input, without waiting, just before it sends the banner; on loopback its reception
    /// process gets there within a millisecond of the accept, so whether a client that writes its flight
    /// right after the handshake is seen as early depends on scheduling, and <c>L*</c>/<c>L.</c> flips
    /// from run to run on a busy machine. A connect-ACL delay (the classic early-talker trap; Exim's
    /// delay takes whole seconds) lets a client that talks before the banner be seen doing so, while a
    /// client that waits for the banner still waits for it.
    /// </summary>
    public static readonly TimeSpan EarlyTalkerBannerDelay = TimeSpan.FromSeconds(1);

    /// <param name="domain">The one local domain.</param>
    /// <param name="localParts">Mailboxes that exist (Exim 4.96 refuses tainted paths, so they are listed).</param>
    /// <param name="bannerDelay">Hold the banner this long (whole seconds), e.g. <see cref="EarlyTalkerBannerDelay"/>.</param>
    /// <param name="tls">A certificate (with its chain) and key as PEM files: STARTTLS is offered to everyone with them.</param>
    /// <param name="auth">One user for plaintext authenticators <c>plain</c> (PLAIN) and <c>login</c> (LOGIN), offered
    /// only under TLS; every recipient then needs an authenticated client.</param>
    public static async Task<EximServer> StartAsync(string domain, IReadOnlyList<string> localParts, TimeSpan? bannerDelay = null,
        (string CertificatePath, string KeyPath)? tls = null, (string User, string Password)? auth = null)
    {
        var server = new EximServer();
        try
        {
            await server.StartCoreAsync(domain, localParts, bannerDelay, tls, auth);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(string domain, IReadOnlyList<string> localParts, TimeSpan? bannerDelay,
        (string CertificatePath, string KeyPath)? tls, (string User, string Password)? auth)
    {
        var tlsOptions = "tls_advertise_hosts =";
        if (tls is { } files)
        {
            // Reception processes run as Debian-exim and read the files at STARTTLS: copy them where that user may.
            var tlsDir = Dir.Combine("tls");
            Directory.CreateDirectory(tlsDir);
            File.Copy(files.CertificatePath, Path.Combine(tlsDir, "server.crt"));
            File.Copy(files.KeyPath, Path.Combine(tlsDir, "server.key"));
            (await ProcessRunner.RunAsync("chown", ["-R", "Debian-exim:Debian-exim", tlsDir])).EnsureSuccess();
            tlsOptions = $"tls_advertise_hosts = *\ntls_certificate = {tlsDir}/server.crt\ntls_privatekey = {tlsDir}/server.key";
        }
        var connectAcl = bannerDelay is { } delay
            ? ("acl_smtp_connect = acl_connect", $"acl_connect:\n  accept delay = {(int)delay.TotalSeconds}s")
            : ("", "");
        // $auth2/$auth3 are PLAIN's user and password, $auth1/$auth2 LOGIN's answers to its two prompts.
        var (requireAuth, authenticators) = auth is { } user
            ? ("deny   message = authentication required\n         !authenticated = *",
               string.Join('\n',
                   "begin authenticators",
                   "plain:",
                   "  driver = plaintext",
                   "  public_name = PLAIN",
                   "  server_prompts = :",
                   $"  server_condition = ${{if eq{{$auth2:$auth3}}{{{user.User}:{user.Password}}}}}",
                   "  server_set_id = $auth2",
                   "  server_advertise_condition = ${if def:tls_in_cipher}",
                   "login:",
                   "  driver = plaintext",
                   "  public_name = LOGIN",
                   "  server_prompts = Username:: : Password::",
                   $"  server_condition = ${{if eq{{$auth1:$auth2}}{{{user.User}:{user.Password}}}}}",
                   "  server_set_id = $auth1",
                   "  server_advertise_condition = ${if def:tls_in_cipher}"))
            : ("", "");
        await WriteConfigAsync(CommonConfig(Hostname, tlsOptions) + $"""
            domainlist local_domains = {domain}
            acl_smtp_rcpt = acl_rcpt
            {connectAcl.Item1}
            pipelining_connect_advertise_hosts = *
            chunking_advertise_hosts = *

            begin acl
            {connectAcl.Item2}
            acl_rcpt:
              {requireAuth}
              accept domains = +local_domains
                     local_parts = {string.Join(" : ", localParts)}
              deny   message = relay not permitted

            begin routers
            local:
              driver = accept
              domains = +local_domains
              local_parts = {string.Join(" : ", localParts)}
              transport = maildir

            begin transports
            maildir:
              driver = appendfile
              directory = {MaildirRoot}/$local_part_data
              maildir_format
              create_directory
              user = Debian-exim
              return_path_add
              envelope_to_add

            begin retry
            * * F,1h,5m

            {authenticators}

            """);

        var port = Support.Net.FreeLoopbackPort();
        EndPoint = new IPEndPoint(IPAddress.Loopback, port);
        _daemon = ProcessRunner.Start(Binary,
            ["-C", ConfigPath, "-bdf", "-odb", "-oX", $"<; 127.0.0.1.{port}", "-oP", Dir.Combine("exim.pid")]);
        try
        {
            await Support.Net.WaitForBannerAsync(EndPoint, TimeSpan.FromSeconds(15), () => _daemon.HasExited);
        }
        catch (TimeoutException e)
        {
            throw new InvalidOperationException($"Exim daemon did not come up:\n{_daemon.Output}\n"
                + string.Join('\n', MainLogLines()) + "\n" + ReadPanicLog(), e);
        }
    }

    private string ReadPanicLog()
    {
        var panic = Dir.Combine("log", "paniclog");
        return File.Exists(panic) ? File.ReadAllText(panic, Encoding.UTF8) : "";
    }

    public override ValueTask DisposeAsync()
    {
        _daemon?.Dispose();
        return base.DisposeAsync();
    }
}
