using System.Net;
using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Support;
using ActorMta.Interop.Tests.Targets;
using ActorMta.Tests.Shared;

namespace ActorMta.Interop.Tests;

/// <summary>
/// ActorMta relaying to Debian's Exim 4.96 as a TLS server (STARTTLS with a certificate from a CA made
/// in the test, <c>pipelining_connect_advertise_hosts = *</c>), with <c>hosts-pipe-connect</c>,
/// <c>hosts-verify-tls</c> and that CA trusted: the first delivery learns both phases (Exim logs
/// <c>L.</c>), the following ones talk early, EHLO,STARTTLS before the banner and EHLO plus the
/// transaction in one TLS write (Exim logs <c>L*</c>); every delivery is over TLS (<c>X=</c> on both
/// sides) with the certificate verified (<c>CV=yes</c>).
/// </summary>
public sealed class EximTlsRelayTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [PeerFact(PeerBinaries.Exim)]
    public async Task Relay_to_Exim_over_STARTTLS_learns_then_early_pipelines_with_X_and_CV()
    {
        using var ca = TestCertificates.CreateAuthority();
        using var scratch = new TempDir("actormta-tls-relay-");
        using var certificate = ca.IssueServer([EximServer.Hostname], [IPAddress.Loopback]);
        var files = ca.WritePem(certificate, scratch.Combine("pem"));
        var caFile = ca.WriteAuthorityPem(scratch.Combine("pem"));

        await using var exim = await EximServer.StartAsync(TestTargets.Domain, [TestTargets.Mailbox], EximServer.EarlyTalkerBannerDelay, files);
        await using var relay = await ActorMtaTarget.StartAsync(["local.actormta.test"],
            "actormta.primary-hostname=\"relay.actormta.test\"",
            $"actormta.routing.smarthosts=[{{ name = \"exim\", domains = [\"{TestTargets.Domain}\"], hosts = [\"{exim.EndPoint}\"] }}]",
            "actormta.outbound.hosts-pipe-connect=[\"*\"]",
            "actormta.outbound.hosts-verify-tls=[\"*\"]",
            $"actormta.outbound.tls-verify-certificates=\"{caFile}\"",
            "actormta.outbound.idle-connection-timeout=0");

        for (var i = 0; i < 3; i++)
        {
            await EximServerEndToEndTests.SubmitAsync(relay.EndPoint, "sender@client.test", TestTargets.Recipient,
                $"Subject: TLS relay {i}\r\nFrom: sender@client.test\r\n\r\nover STARTTLS {i}\r\n");
            await exim.WaitForDeliveriesAsync(TestTargets.Mailbox, i + 1, TimeSpan.FromSeconds(60));
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<string> deliveries;
        while ((deliveries = relay.MainLogLines().Where(l => l.Contains(" => ", StringComparison.Ordinal)).ToList()).Count < 3
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var receptions = exim.ReceptionLines();
        var both = "Exim <= lines:\n" + string.Join('\n', receptions) + "\nActorMta main log:\n" + string.Join('\n', relay.MainLogLines());
        output.WriteLine(both);

        // Exim: L. (offered, not used) on the first connection, L* on the next ones; TLS every time.
        Assert.True(receptions.Count == 3, both);
        var theirs = receptions.Select(l => l.Split(' ')).ToList();
        Assert.True(theirs[0].Contains("L.") && theirs[1].Contains("L*") && theirs[2].Contains("L*"), "expected L. L* L* from Exim. " + both);
        Assert.All(theirs, f => Assert.Contains(f, x => x.StartsWith("X=TLS1.3:", StringComparison.Ordinal)));
        Assert.All(theirs, f => Assert.Contains("P=esmtps", f));

        // ActorMta: X= and CV=yes on every => line, L then L* L*.
        Assert.True(deliveries.Count == 3, both);
        var ours = deliveries.Select(l => l.Split(' ')).ToList();
        Assert.All(ours, f => Assert.Contains(f, x => x.StartsWith("X=TLS1.3:TLS_", StringComparison.Ordinal)));
        Assert.All(ours, f => Assert.Contains("CV=yes", f));
        Assert.True(ours[0].Contains("L") && ours[1].Contains("L*") && ours[2].Contains("L*"), "expected L then L* L* from ActorMta. " + both);
    }
}
