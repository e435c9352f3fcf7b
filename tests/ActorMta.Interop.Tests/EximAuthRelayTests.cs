using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Support;

namespace ActorMta.Interop.Tests;

/// <summary>
/// ActorMta logging in to Debian's Exim 4.96 as an AUTH server: plaintext authenticators (PLAIN,
/// LOGIN) offered only under TLS, STARTTLS with a certificate from a CA made in the test,
/// <c>pipelining_connect_advertise_hosts = *</c>, recipients only for authenticated clients. ActorMta
/// relays through a smarthost route with credentials (clear-text AUTH not allowed) and
/// <c>hosts-pipe-connect</c>: the first delivery learns both phases (Exim <c>L.</c>, ours <c>L</c>); the
/// next one sends EHLO,STARTTLS before the banner and EHLO,AUTH PLAIN right after the handshake
/// (both sides <c>L*</c>); every line carries <c>A=plain:alice</c>.
/// </summary>
public sealed class EximAuthRelayTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [PeerFact(PeerBinaries.Exim)]
    public async Task Relay_logs_in_to_Exim_then_sends_EHLO_and_AUTH_in_the_early_flight()
    {
        var (receptions, deliveries, relayLog, both) = await RelayToExim.RunAsync(output, "auth", messages: 2, auth: ("alice", "wonderland"));

        // Exim: authenticated over TLS both times; offered-not-used, then early pipelining used.
        Assert.True(receptions.Count == 2, both);
        var theirs = receptions.Select(l => l.Split(' ')).ToList();
        Assert.All(theirs, f => Assert.Contains("P=esmtpsa", f));
        Assert.All(theirs, f => Assert.Contains("A=plain:alice", f));
        Assert.All(theirs, f => Assert.Contains(f, x => x.StartsWith("X=TLS1.3:", StringComparison.Ordinal)));
        Assert.True(theirs[0].Contains("L.") && theirs[1].Contains("L*"), "expected L. then L* from Exim. " + both);

        // ActorMta: A= on both => lines, L then L*.
        Assert.True(deliveries.Count == 2, both);
        var ours = deliveries.Select(l => l.Split(' ')).ToList();
        Assert.All(ours, f => Assert.Contains("A=plain:alice", f));
        Assert.All(ours, f => Assert.Contains(f, x => x.StartsWith("X=TLS1.3:TLS_", StringComparison.Ordinal)));
        Assert.True(ours[0].Contains("L") && !ours[0].Contains("L*") && ours[1].Contains("L*"), "expected L then L* from ActorMta. " + both);
        Assert.DoesNotContain(relayLog, l => l.Contains("wonderland", StringComparison.Ordinal));
    }
}
