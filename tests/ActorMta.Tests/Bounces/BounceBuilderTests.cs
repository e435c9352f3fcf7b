using System.Text;
using ActorMta.Bounces;
using ActorMta.Spool;
using MimeKit;

namespace ActorMta.Tests.Bounces;

public sealed class BounceBuilderTests
{
    private static readonly byte[] Original = Encoding.ASCII.GetBytes(
        "From: <alice@test.example>\r\nTo: <carol@remote.example>\r\nSubject: hello\r\nMessage-ID: <m1@test.example>\r\n\r\nThe body.\r\n");

    private static Envelope Envelope(string? ret = null, string? envId = null, string? orcpt = null) => new(
        "abcdef-ghijkl-mn", "alice@test.example", [new EnvelopeRecipient("carol@remote.example", null, orcpt)],
        new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero), "client", "192.0.2.1", 4000, "esmtp", null, false, ret, envId, "<m1@test.example>", Original.Length);

    private static readonly BouncedRecipient[] Failed =
        [new(new EnvelopeRecipient("carol@remote.example", null, "rfc822;Carol+2Bx@remote.example"), new RecipientFailure("5.1.1", "mx.remote.example", "smtp; 550 5.1.1 No such user", "550 5.1.1 No such user"))];

    private static MimeMessage Parse(MimeMessage built) => MimeMessage.Load(new MemoryStream(BounceBuilder.ToBytes(built)));

    [Theory]
    [InlineData(null, true)]
    [InlineData("NEVER", false)]
    [InlineData("SUCCESS", false)]
    [InlineData("SUCCESS,DELAY", false)]
    [InlineData("success,failure", true)]
    [InlineData("FAILURE", true)]
    public void Notify_decides_whether_a_failure_is_reported(string? notify, bool wanted)
        => Assert.Equal(wanted, BounceBuilder.WantsFailureReport(new EnvelopeRecipient("x@y", notify, null)));

    [Theory]
    [InlineData(null, true)]
    [InlineData("NEVER", false)]
    [InlineData("FAILURE", false)]
    [InlineData("failure,delay", true)]
    public void Notify_decides_whether_a_delay_is_reported(string? notify, bool wanted)
        => Assert.Equal(wanted, BounceBuilder.WantsDelayReport(new EnvelopeRecipient("x@y", notify, null)));

    [Theory]
    [InlineData(null, false)]
    [InlineData("NEVER", false)]
    [InlineData("FAILURE,DELAY", false)]
    [InlineData("success", true)]
    [InlineData("FAILURE,SUCCESS", true)]
    public void Only_a_NOTIFY_naming_SUCCESS_asks_for_a_success_report(string? notify, bool wanted)
        => Assert.Equal(wanted, BounceBuilder.WantsSuccessReport(new EnvelopeRecipient("x@y", notify, null)));

    [Fact]
    public void A_success_report_gives_each_recipient_its_own_action_and_returns_headers_only_even_with_ret_full()
    {
        BouncedRecipient[] delivered =
        [
            new(new EnvelopeRecipient("carol@remote.example", "SUCCESS", null), new RecipientFailure("2.0.0", null, null, "delivered"), "delivered"),
            new(new EnvelopeRecipient("dave@far.example", "SUCCESS", null), new RecipientFailure("2.0.0", "mx.far.example", "smtp; 250 OK", "250 OK"), "relayed"),
        ];
        var report = Parse(BounceBuilder.BuildSuccessReport(Envelope(ret: "FULL"), Original, delivered, "mx.test.example", DateTimeOffset.UtcNow));

        Assert.Equal("Delivery report: message abcdef-ghijkl-mn delivered", report.Subject);
        var parts = Assert.IsType<MultipartReport>(report.Body);
        string text = Assert.IsType<TextPart>(parts[0]).Text.ReplaceLineEndings("\n");
        Assert.Contains("  carol@remote.example\n    delivered to the recipient's mailbox\n", text, StringComparison.Ordinal);
        Assert.Contains("  dave@far.example\n    handed on to a server that will not report further: 250 OK\n", text, StringComparison.Ordinal);
        var groups = Assert.IsType<MessageDeliveryStatus>(parts[1]).StatusGroups.Where(g => g.Contains("Final-Recipient")).ToArray();
        Assert.Equal([("delivered", "2.0.0", (string?)null), ("relayed", "2.0.0", "dns; mx.far.example")],
            groups.Select(g => (g["Action"], g["Status"], g["Remote-MTA"])));
        Assert.IsType<TextRfc822Headers>(parts[2]);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("Precedence: BULK\r\n", true)]
    [InlineData("Precedence: junk\r\n", true)]
    [InlineData("Precedence: list\r\n", true)]
    [InlineData("Precedence: first-class\r\n", false)]
    [InlineData("List-Id: Users <users.example.org>\r\n", true)]
    [InlineData("Auto-Submitted: auto-generated\r\n", true)]
    [InlineData("Auto-Submitted: no\r\n", false)]
    public void List_bulk_and_automatic_mail_is_told_apart_by_its_headers(string headers, bool automatic)
        => Assert.Equal(automatic, BounceBuilder.IsBulkOrAutomatic(Encoding.ASCII.GetBytes($"From: <a@b>\r\n{headers}Subject: s\r\n\r\nPrecedence: bulk\r\n")));

    [Theory]
    [InlineData(25 * 3600, "delayed 25 hours")]
    [InlineData(3600, "delayed 1 hour")]
    [InlineData(90, "delayed 1 minute")]
    [InlineData(5, "delayed 5 seconds")]
    public void A_delay_report_says_how_long_the_message_waited_and_returns_headers_only_even_with_ret_full(int seconds, string subject)
    {
        var delayed = new BouncedRecipient(new EnvelopeRecipient("carol@remote.example", null, null), new RecipientFailure("4.4.1", null, null, "connection refused"));
        var report = Parse(BounceBuilder.BuildDelayReport(Envelope(ret: "FULL"), Original, [delayed], "mx.test.example", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(seconds)));

        Assert.Equal($"Warning: message abcdef-ghijkl-mn {subject}", report.Subject);
        var parts = Assert.IsType<MultipartReport>(report.Body);
        Assert.Contains("  carol@remote.example\n    connection refused\n", Assert.IsType<TextPart>(parts[0]).Text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        var group = Assert.IsType<MessageDeliveryStatus>(parts[1]).StatusGroups[1];
        Assert.Equal(("delayed", "4.4.1"), (group["Action"], group["Status"]));
        Assert.IsType<TextRfc822Headers>(parts[2]);
    }

    [Fact]
    public void The_report_has_a_text_part_the_delivery_status_and_the_original_headers_only()
    {
        var bounce = Parse(BounceBuilder.Build(Envelope(envId: "E1"), Original, Failed, "mx.test.example", DateTimeOffset.UtcNow));

        Assert.Equal("Mailer-Daemon@mx.test.example", Assert.Single(bounce.From.Mailboxes).Address);
        Assert.Equal("m1@test.example", bounce.InReplyTo);
        Assert.Equal("auto-replied", bounce.Headers["Auto-Submitted"]);
        var report = Assert.IsType<MultipartReport>(bounce.Body);
        Assert.Equal("delivery-status", report.ReportType);
        Assert.Equal(3, report.Count);
        Assert.IsType<TextPart>(report[0]);
        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal("E1", status.StatusGroups[0]["Original-Envelope-Id"]);
        Assert.Equal("dns; mx.test.example", status.StatusGroups[0]["Reporting-MTA"]);
        Assert.Equal(Envelope().ReceivedAt, MimeKit.Utils.DateUtils.TryParse(status.StatusGroups[0]["Arrival-Date"], out var arrival) ? arrival : default);
        var group = status.StatusGroups[1];
        Assert.Equal("rfc822; Carol+x@remote.example", group["Original-Recipient"]);
        Assert.Equal("rfc822; carol@remote.example", group["Final-Recipient"]);
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.1.1", group["Status"]);
        Assert.Equal("dns; mx.remote.example", group["Remote-MTA"]);
        Assert.Equal("smtp; 550 5.1.1 No such user", group["Diagnostic-Code"]);
        var headers = Assert.IsType<TextRfc822Headers>(report[2]);
        Assert.Equal("hello", headers.Message?.Subject);
        Assert.DoesNotContain("The body.", Encoding.ASCII.GetString(BounceBuilder.ToBytes(bounce)), StringComparison.Ordinal);
    }

    [Fact]
    public void With_ret_full_the_whole_original_message_is_returned()
    {
        var bounce = Parse(BounceBuilder.Build(Envelope(ret: "FULL"), Original, Failed, "mx.test.example", DateTimeOffset.UtcNow));

        var returned = Assert.IsType<MessagePart>(Assert.IsType<MultipartReport>(bounce.Body)[2]);
        Assert.Equal("message/rfc822", returned.ContentType.MimeType);
        Assert.Equal("The body.", returned.Message?.TextBody?.Trim());
    }
}
