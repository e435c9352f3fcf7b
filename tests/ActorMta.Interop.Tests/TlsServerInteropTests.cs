using System.Net;
using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Support;
using ActorMta.Interop.Tests.Targets;
using ActorMta.Tests.Shared;

namespace ActorMta.Interop.Tests;

/// <summary>
/// ActorMta's TLS server against real clients: Exim 4.96 over STARTTLS with early pipelining
/// (<c>hosts_pipe_connect = *</c>), and swaks with <c>--tls</c> and <c>--tls-on-connect</c>.
/// </summary>
public sealed class TlsServerInteropTests
{
    private const string Sender = "sender@client.test";

    /// <summary>ActorMta with a certificate from a fresh test CA for 127.0.0.1 and its name.</summary>
    private static async Task<(ActorMtaTarget Target, TestCertificates Authority, string CaPath, TempDir Files)> StartWithCertificateAsync(params string[] sets)
    {
        var files = new TempDir("actormta-tls-files-");
        var authority = TestCertificates.CreateAuthority();
        using var leaf = authority.IssueServer(["mx.test.example"], [IPAddress.Loopback]);
        var (certificate, key) = authority.WritePem(leaf, files.Path);
        var caPath = authority.WriteAuthorityPem(files.Path);
        var target = await ActorMtaTarget.StartAsync([TestTargets.Domain],
            ["actormta.primary-hostname=\"mx.test.example\"", $"actormta.tls.certificate=\"{certificate}\"", $"actormta.tls.private-key=\"{key}\"", .. sets]);
        return (target, authority, caPath, files);
    }

    [PeerFact(PeerBinaries.Exim)]
    public async Task Exim_over_StartTls_early_pipelines_its_second_delivery_and_both_sides_log_it()
    {
        var (target, authority, caPath, files) = await StartWithCertificateAsync();
        using var ca = authority;
        using var folder = files;
        await using var mta = target;
        await using var exim = await EximClient.CreateAsync(target.EndPoint, caPath);

        var first = await exim.SendAsync(Sender, TestTargets.Recipient, "Subject: tls 1\n\nfirst over STARTTLS\n");
        var second = await exim.SendAsync(Sender, TestTargets.Recipient, "Subject: tls 2\n\nsecond, early over STARTTLS\n");

        // Exim's side: both deliveries encrypted, the second one early (L*).
        Assert.Contains(first.Fields, f => f.StartsWith("X=TLS1.3:", StringComparison.Ordinal));
        Assert.Contains(second.Fields, f => f.StartsWith("X=TLS1.3:", StringComparison.Ordinal));
        Assert.DoesNotContain("L*", first.Fields);
        Assert.Contains("L*", second.Fields);

        await target.WaitForDeliveriesAsync(TestTargets.Mailbox, 2, TimeSpan.FromSeconds(30));
        var receptions = target.ReceptionLines();
        Assert.True(receptions.Count == 2, string.Join('\n', receptions));
        Assert.Matches(@" P=esmtps L\. X=TLS1\.3:TLS_\w+:(128|256) CV=no K S=", receptions[0]);
        Assert.Matches(@" P=esmtps L\* X=TLS1\.3:TLS_\w+:(128|256) CV=no K S=", receptions[1]);
    }

    [PeerFact(PeerBinaries.Swaks)]
    public async Task Swaks_with_tls_upgrades_with_StartTls_and_the_message_is_delivered()
    {
        // No certificate configured: the self-signed one made in the data directory is used.
        await using var target = await ActorMtaTarget.StartAsync([TestTargets.Domain]);
        var token = "tok-" + Guid.NewGuid().ToString("N");
        var t = await SwaksPeer.SendAsync(target.EndPoint, Sender, TestTargets.Recipient, $"swaks tls {token}", token, "--tls");

        Assert.True(t.ExitCode == 0, $"swaks exited {t.ExitCode}:\n{t.Raw}");
        var startTls = t.IndexOf(" -> STARTTLS");
        Assert.True(startTls > 0, t.Raw);
        Assert.StartsWith("<-  220 2.0.0 Ready to start TLS", t.Lines[startTls + 1]);
        Assert.True(t.IndexOf("=== TLS started with cipher TLSv1.3", startTls) > 0, t.Raw);
        Assert.True(t.IndexOf("<~  250 ", startTls) > 0, t.Raw); // "<~" : read over TLS

        var files = await target.WaitForDeliveriesAsync(TestTargets.Mailbox, 1, TimeSpan.FromSeconds(30));
        Assert.Contains(token, File.ReadAllText(Assert.Single(files)));
        // swaks without --pipeline waits for every reply: early pipelining offered, nothing pipelined (L.-).
        Assert.Matches(@" P=esmtps L\.- X=TLS1\.3:TLS_\w+:(128|256) CV=no S=", Assert.Single(target.ReceptionLines()));
        Assert.True(File.Exists(Path.Combine(target.Dir.Path, "tls", "selfsigned.crt")));
    }

    [PeerFact(PeerBinaries.Swaks)]
    public async Task Swaks_verifying_the_self_signed_certificate_refuses_it_and_the_main_log_says_so()
    {
        await using var target = await ActorMtaTarget.StartAsync([TestTargets.Domain]);
        var t = await SwaksPeer.SendAsync(target.EndPoint, Sender, TestTargets.Recipient, "swaks tls-verify", "never sent", "--tls", "--tls-verify");

        Assert.True(t.ExitCode != 0, $"swaks should have refused the self-signed certificate:\n{t.Raw}");
        Assert.True(t.IndexOf(" -> MAIL FROM") < 0, t.Raw);
        // OpenSSL's client sends its alert during the handshake: the server names it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string? line;
        while ((line = target.MainLogLines().FirstOrDefault(l => l.Contains(" TLS error on connection from ", StringComparison.Ordinal))) is null
               && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(line is not null, string.Join('\n', target.MainLogLines()));
        Assert.Matches(@" TLS error on connection from H=\(swaks\.test\) \[127\.0\.0\.1\]:\d+ \(STARTTLS\): the client rejected our certificate \((tls|ssl)v\d+ alert [a-z ]+\)$", line);
        Assert.Empty(target.ReceptionLines());
    }

    [PeerFact(PeerBinaries.Swaks)]
    public async Task Swaks_with_tls_on_connect_is_served_on_a_tls_on_connect_listener()
    {
        var (target, authority, _, files) = await StartWithCertificateAsync("actormta.listen-tls-on-connect=[\"127.0.0.1:0\"]");
        using var ca = authority;
        using var folder = files;
        await using var mta = target;
        var token = "tok-" + Guid.NewGuid().ToString("N");
        var t = await SwaksPeer.SendAsync(target.EndPoints[1], Sender, TestTargets.Recipient, $"swaks smtps {token}", token, "--tls-on-connect");

        Assert.True(t.ExitCode == 0, $"swaks exited {t.ExitCode}:\n{t.Raw}");
        Assert.True(t.IndexOf("=== TLS started with cipher TLSv1.3") >= 0, t.Raw);
        Assert.True(t.IndexOf("<~  220 mx.test.example ESMTP ActorMta") >= 0, t.Raw); // the banner came over TLS
        await target.WaitForDeliveriesAsync(TestTargets.Mailbox, 1, TimeSpan.FromSeconds(30));
        Assert.Matches(@" P=esmtps L\.- X=TLS1\.3:TLS_\w+:(128|256) CV=no S=", Assert.Single(target.ReceptionLines()));
    }
}
