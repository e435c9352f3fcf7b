using System.Net;
using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Targets;
using ActorMta.Tests.Shared;

namespace ActorMta.Interop.Tests.Support;

/// <summary>What a relay run left in the two main logs.</summary>
/// <param name="Receptions">Exim's <c>&lt;=</c> lines, in order.</param>
/// <param name="Deliveries">ActorMta's <c>=&gt;</c> lines, in order.</param>
/// <param name="RelayLog">ActorMta's whole main log.</param>
/// <param name="Both">Both main logs, for assertion messages.</param>
internal sealed record RelayedToExim(IReadOnlyList<string> Receptions, IReadOnlyList<string> Deliveries, IReadOnlyList<string> RelayLog, string Both);

/// <summary>
/// The rig of the ActorMta-to-Exim relay tests: Debian's Exim 4.96 as a STARTTLS server with a
/// certificate from a CA made in the test and <c>pipelining_connect_advertise_hosts = *</c>, a fresh
/// ActorMta relaying to it over a smarthost route with <c>hosts-pipe-connect</c> and no idle
/// connections kept (each message on a new connection), and the messages sent one after another.
/// </summary>
internal static class RelayToExim
{
    /// <param name="auth">Exim requires AUTH with these credentials, and the route logs in with them.</param>
    /// <param name="verifyCertificate">ActorMta verifies Exim's certificate against the test's CA.</param>
    public static async Task<RelayedToExim> RunAsync(Xunit.Abstractions.ITestOutputHelper output, string label, int messages,
        (string User, string Password)? auth = null, bool verifyCertificate = false)
    {
        using var ca = TestCertificates.CreateAuthority();
        using var scratch = new TempDir($"actormta-{label}-relay-");
        using var certificate = ca.IssueServer([EximServer.Hostname], [IPAddress.Loopback]);
        var files = ca.WritePem(certificate, scratch.Combine("pem"));

        await using var exim = await EximServer.StartAsync(TestTargets.Domain, [TestTargets.Mailbox], EximServer.EarlyTalkerBannerDelay, files, auth);
        string login = auth is { } a ? $", auth = {{ user = \"{a.User}\", password = \"{a.Password}\" }}" : "";
        var sets = new List<string>
        {
            "actormta.primary-hostname=\"relay.actormta.test\"",
            $"actormta.routing.smarthosts=[{{ name = \"exim\", domains = [\"{TestTargets.Domain}\"], hosts = [\"{exim.EndPoint}\"]{login} }}]",
            "actormta.outbound.hosts-pipe-connect=[\"*\"]",
            "actormta.outbound.idle-connection-timeout=0",
        };
        if (verifyCertificate)
        {
            sets.Add("actormta.outbound.hosts-verify-tls=[\"*\"]");
            sets.Add($"actormta.outbound.tls-verify-certificates=\"{ca.WriteAuthorityPem(scratch.Combine("pem"))}\"");
        }
        await using var relay = await ActorMtaTarget.StartAsync(["local.actormta.test"], [.. sets]);

        for (var i = 0; i < messages; i++)
        {
            await EximServerEndToEndTests.SubmitAsync(relay.EndPoint, "sender@client.test", TestTargets.Recipient,
                $"Subject: {label} relay {i}\r\nFrom: sender@client.test\r\n\r\nmessage {i}\r\n");
            await exim.WaitForDeliveriesAsync(TestTargets.Mailbox, i + 1, TimeSpan.FromSeconds(60));
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<string> deliveries;
        while ((deliveries = relay.MainLogLines().Where(l => l.Contains(" => ", StringComparison.Ordinal)).ToList()).Count < messages
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var relayLog = relay.MainLogLines();
        var both = "Exim main log:\n" + string.Join('\n', exim.MainLogLines()) + "\nActorMta main log:\n" + string.Join('\n', relayLog);
        output.WriteLine(both);
        return new RelayedToExim(exim.ReceptionLines(), deliveries, relayLog, both);
    }
}
