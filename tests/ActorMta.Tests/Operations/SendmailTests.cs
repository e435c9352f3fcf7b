using System.Net;
using System.Net.Sockets;
using ActorMta.Routing;
using ActorMta.Smtp;
using System.Text.RegularExpressions;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Operations;

/// <summary><c>actormta sendmail</c> as cron and applications call it, and <c>actormta destinations</c>.</summary>
public sealed class SendmailTests
{
    [Fact]
    public async Task DashTTakesRecipientsFromToCcAndBccRemovesBccAndASingleDotEndsTheMessage()
    {
        await using var mta = await TestMta.StartAsync();
        const string message =
            "From: Cron Daemon <cron@test.example>\n" +
            "To: Ann <ann@test.example>, \"Doe, Bob\" <bob@test.example>\n" +
            "Cc: carol@test.example (Carol)\n" +
            "Bcc: dave@test.example\n" +
            "Subject: nightly\n" +
            "\n" +
            "all good\n" +
            ".\n" +
            "not part of the message\n";

        var r = await Operator.RunAsync(mta.Directory, ["sendmail", "-t", "-f", "cron@test.example"], message);

        Assert.Equal((0, "", ""), (r.ExitCode, r.Stdout, r.Stderr));
        string received = await mta.WaitForLogLineAsync("<= cron@test.example U=", " P=local ");
        Assert.Matches(@"^\S+ \S+ \S+ <= cron@test.example U=\S+ P=local S=\d+ id=\S+ for ann@test.example bob@test.example carol@test.example dave@test.example$", received);
        foreach (var user in new[] { "ann", "bob", "carol", "dave" })
        {
            string delivered = Assert.Single(await mta.WaitForMaildirAsync(user));
            Assert.Contains("\r\nSubject: nightly\r\n", delivered);
            Assert.Contains("\r\nTo: Ann <ann@test.example>, \"Doe, Bob\" <bob@test.example>\r\n", delivered);
            Assert.DoesNotContain("Bcc:", delivered);
            Assert.DoesNotContain("dave@test.example\r\n\r\n", delivered);
            Assert.EndsWith("\r\n\r\nall good\r\n", delivered);
            Assert.Contains("with local (ActorMta)", delivered);
        }
    }

    [Fact]
    public async Task DashNAsksForDeliveryStatusNotificationsAsSendmailsDashNDoes()
    {
        await using var mta = await TestMta.StartAsync();

        var r = await Operator.RunAsync(mta.Directory, ["sendmail", "-i", "-N", "success,failure", "-Rhdrs", "-f", "alice@test.example", "ann"], "Subject: did it arrive\n\nx\n");

        Assert.Equal((0, ""), (r.ExitCode, r.Stderr));
        string received = await mta.WaitForLogLineAsync("<= alice@test.example U=");
        string id = received.Split(' ')[2];
        await mta.WaitForLogLineAsync($"{id} success report sent to alice@test.example as ");
        string report = Assert.Single(await mta.WaitForMaildirAsync("alice"));
        Assert.Contains($"Final-Recipient: rfc822; ann@{TestMta.Hostname}\r\nAction: delivered\r\nStatus: 2.0.0\r\n", report, StringComparison.Ordinal);

        var badNotify = await Operator.RunAsync(mta.Directory, ["sendmail", "-N", "never,success", "ann"], "x\n");
        Assert.Equal((2, "actormta: sendmail: -N takes never, or a list of success, failure and delay; got \"never,success\"\n"), (badNotify.ExitCode, badNotify.Stderr));
        var badRet = await Operator.RunAsync(mta.Directory, ["sendmail", "-R", "body", "ann"], "x\n");
        Assert.Equal((2, "actormta: sendmail: -R takes hdrs or full; got \"body\"\n"), (badRet.ExitCode, badRet.Stderr));
    }

    [Fact]
    public async Task DashIKeepsDotsAndMissingHeadersAreAdded()
    {
        await using var mta = await TestMta.StartAsync();

        var r = await Operator.RunAsync(mta.Directory, ["sendmail", "-oi", "-F", "Nightly Job", "ann"], "Subject: dots\n\nline one\n.\nline three\n");

        Assert.Equal(0, r.ExitCode);
        string delivered = Assert.Single(await mta.WaitForMaildirAsync("ann"));
        Assert.EndsWith("\r\n\r\nline one\r\n.\r\nline three\r\n", delivered);
        // The bare local part is qualified with the primary host name; From, Date and Message-Id are added.
        Assert.Contains($"Delivered-To: ann@{TestMta.Hostname}", delivered);
        Assert.Matches($@"\r\nFrom: Nightly Job <\S+@{Regex.Escape(TestMta.Hostname)}>\r\n", delivered);
        Assert.Matches(@"\r\nDate: \w{3}, \d\d \w{3} \d{4} ", delivered);
        Assert.Matches($@"\r\nMessage-Id: <\S+@{Regex.Escape(TestMta.Hostname)}>\r\n", delivered);
    }

    [Fact]
    public async Task BpListsTheQueueAndBadInputGivesExitCodes()
    {
        await using var mta = await TestMta.StartAsync();
        Directory.CreateDirectory(mta.Settings.LocalDelivery.MaildirRoot);
        File.WriteAllText(Path.Combine(mta.Settings.LocalDelivery.MaildirRoot, "stuck"), "blocks the maildir");
        Assert.Equal(0, (await Operator.RunAsync(mta.Directory, ["sendmail", "-f", "<>", "stuck@test.example"], "Subject: wait\n\nx\n")).ExitCode);
        string line = await mta.WaitForLogLineAsync("== stuck@test.example");
        string id = line.Split(' ')[2];

        var bp = await Operator.RunAsync(mta.Directory, ["sendmail", "-bp"]);
        Assert.Equal(0, bp.ExitCode);
        Assert.Matches(new Regex($"^ ?\\d+m +\\d+ {id} <>\n {{10}}stuck@test.example\n\n$"), bp.Stdout);

        var noRecipients = await Operator.RunAsync(mta.Directory, ["sendmail"], "x\n");
        Assert.Equal(2, noRecipients.ExitCode);
        Assert.Contains("no recipients", noRecipients.Stderr);
        var noneInHeaders = await Operator.RunAsync(mta.Directory, ["sendmail", "-t"], "Subject: none\n\nx\n");
        Assert.Equal((2, "actormta: no recipients in the To, Cc or Bcc headers\n"), (noneInHeaders.ExitCode, noneInHeaders.Stderr));
        var badAddress = await Operator.RunAsync(mta.Directory, ["sendmail", "a b@test.example"], "x\n");
        Assert.Equal((2, "actormta: bad recipient address \"a b@test.example\"\n"), (badAddress.ExitCode, badAddress.Stderr));
        var unknownOption = await Operator.RunAsync(mta.Directory, ["sendmail", "-q", "ann"], "x\n");
        Assert.Equal((2, "actormta: sendmail: unknown option -q\n"), (unknownOption.ExitCode, unknownOption.Stderr));
    }

    [Fact]
    public async Task A_message_with_more_Received_fields_than_the_limit_is_refused_as_a_loop()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxReceivedHeaders = 2 } });
        const string Hops = "Received: from a by b; Mon, 30 Nov 2026 22:00:00 +0000\nReceived: from b by c; Mon, 30 Nov 2026 22:00:01 +0000\n";

        var looping = await Operator.RunAsync(mta.Directory, ["sendmail", "ann"], Hops + "Received: from c by d; Mon, 30 Nov 2026 22:00:02 +0000\nSubject: again\n\nx\n");
        var fine = await Operator.RunAsync(mta.Directory, ["sendmail", "ann"], Hops + "Subject: twice\n\nx\n");

        Assert.NotEqual(0, looping.ExitCode);
        Assert.Equal("actormta: too many Received: header fields (3, more than 2, actormta.smtp.max-received-headers): suspected mail loop\n", looping.Stderr);
        Assert.Contains(mta.MainLogLines(), l => l.EndsWith("rejected local submission: too many Received: header fields (3): suspected mail loop", StringComparison.Ordinal));
        Assert.Equal(0, fine.ExitCode);
        Assert.Contains("Subject: twice", Assert.Single(await mta.WaitForMaildirAsync("ann")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendmailWithTheMtaStoppedFailsWithExitOne()
    {
        string directory = Path.Combine(Path.GetTempPath(), "actormta-stopped-" + Guid.NewGuid().ToString("N")[..8]);
        var r = await Operator.RunAsync(directory, ["sendmail", "ann@test.example"], "Subject: lost?\n\nx\n");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"actormta: the MTA is not running (control socket {directory}/actormta.control.socket: it does not exist)\n", r.Stderr);
    }

    [Fact]
    public async Task DestinationsShowsAHostInItsRetryWait()
    {
        int closed;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closed = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        await using var mta = await TestMta.StartAsync(s => s with
        {
            Routing = s.Routing with
            {
                Smarthosts = [new SmarthostRoute("dead", DomainList.Parse(["relay.example"]), [$"127.0.0.1:{closed}"])],
                UseIPv6 = false,
            },
        });
        Assert.Equal(0, (await Operator.RunAsync(mta.Directory, ["sendmail", "x@relay.example"], "Subject: far\n\nx\n")).ExitCode);
        await Operator.WaitForLogLineAsync(mta, TimeSpan.FromSeconds(60), "== x@relay.example");

        var text = await Operator.RunAsync(mta, "destinations");
        Assert.Equal((0, ""), (text.ExitCode, text.Stderr));
        Assert.Contains($"127.0.0.1:{closed}  connections in use: 0\n  early pipelining: no record\n  retry: 1 failure(s) since ", text.Stdout);

        var json = await Operator.RunAsync(mta, "destinations", "--json");
        var d = System.Text.Json.Nodes.JsonNode.Parse(Assert.Single(json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)))!;
        Assert.Equal($"127.0.0.1:{closed}", (string?)d["destination"]);
        Assert.Equal(1, (int)d["retry"]!["failures"]!);
        Assert.False((bool)d["in-memory"]!);
    }
}
