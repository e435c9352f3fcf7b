using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Support;

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
        var (receptions, deliveries, _, both) = await RelayToExim.RunAsync(output, "tls", messages: 3, verifyCertificate: true);

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
