using System.Net;
using ActorMta.Interop.Tests.Support;
using ActorMta.Interop.Tests.Targets;

namespace ActorMta.Interop.Tests.Peers;

/// <summary>
/// Exim 4.96 as the server, like <see cref="EximServer"/> (one local domain, maildirs, PIPELINING,
/// PIPECONNECT and CHUNKING for everyone), plus a connect ACL that waits <see cref="BannerDelay"/>
/// before the banner.
/// </summary>
/// <remarks>
/// Why: Exim decides "early pipelining used" (<c>L*</c>) by polling, without waiting, for client input
/// just before it sends the banner (after the connect ACL). On loopback the forked reception process
/// gets there within a millisecond of the accept, so whether a client that writes its flight right
/// after the handshake is seen as early depends on scheduling: the <c>L*</c>/<c>L.</c> field flips from
/// run to run on a busy machine (observed with ActorMta as the client). On a real network the flight
/// arrives a handshake-ACK behind, with the same race. The delay (the classic early-talker trap)
/// makes the observation deterministic: a client that talks before the banner is seen doing so, a
/// client that waits for the banner still waits for it.
/// </remarks>
public sealed class EximEarlyTalkerServer : EximPeer, ISmtpTarget
{
    public static readonly TimeSpan BannerDelay = TimeSpan.FromSeconds(1); // Exim's delay takes whole seconds

    private BackgroundProcess? _daemon;

    private EximEarlyTalkerServer() : base("server-delayed") { }

    public const string Hostname = "exim-server.test";

    public string Name => "Exim 4.96 (delayed banner)";

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    public string MaildirRoot => Dir.Combine("maildir");

    public IReadOnlyList<string> DeliveredFiles(string localPart) => SmtpTargetExtensions.MaildirNew(MaildirRoot, localPart);

    public static async Task<EximEarlyTalkerServer> StartAsync(string domain, IReadOnlyList<string> localParts)
    {
        var server = new EximEarlyTalkerServer();
        try
        {
            var mailboxes = string.Join(" : ", localParts);
            await server.WriteConfigAsync(server.CommonConfig(Hostname) + $"""
                domainlist local_domains = {domain}
                acl_smtp_connect = acl_connect
                acl_smtp_rcpt = acl_rcpt
                pipelining_connect_advertise_hosts = *
                chunking_advertise_hosts = *

                begin acl
                acl_connect:
                  accept delay = {(int)BannerDelay.TotalSeconds}s
                acl_rcpt:
                  accept domains = +local_domains
                         local_parts = {mailboxes}
                  deny   message = relay not permitted

                begin routers
                local:
                  driver = accept
                  domains = +local_domains
                  local_parts = {mailboxes}
                  transport = maildir

                begin transports
                maildir:
                  driver = appendfile
                  directory = {server.MaildirRoot}/$local_part_data
                  maildir_format
                  create_directory
                  user = Debian-exim
                  return_path_add
                  envelope_to_add

                begin retry
                * * F,1h,5m

                """);

            var port = Support.Net.FreeLoopbackPort();
            server.EndPoint = new IPEndPoint(IPAddress.Loopback, port);
            server._daemon = ProcessRunner.Start(server.Binary,
                ["-C", server.ConfigPath, "-bdf", "-odb", "-oX", $"<; 127.0.0.1.{port}", "-oP", server.Dir.Combine("exim.pid")]);
            var daemon = server._daemon;
            try
            {
                await Support.Net.WaitForBannerAsync(server.EndPoint, TimeSpan.FromSeconds(15), () => daemon.HasExited);
            }
            catch (TimeoutException e)
            {
                throw new InvalidOperationException($"Exim daemon did not come up:\n{daemon.Output}\n" + string.Join('\n', server.MainLogLines()), e);
            }
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public override ValueTask DisposeAsync()
    {
        _daemon?.Dispose();
        return base.DisposeAsync();
    }
}
