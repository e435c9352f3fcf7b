using System.Globalization;
using System.Text;
using ActorMta.Smtp;
using ActorMta.Spool;
using MimeKit;
using MimeKit.Utils;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Bounces;

/// <summary>One recipient in a report: failed in a bounce, still waiting in a delay warning, or
/// delivered in a success report; with its (last) failure, or for a success its status.</summary>
/// <param name="Action">The DSN's Action for this recipient when it is not the report's own
/// (a success report says "delivered" or "relayed" per recipient).</param>
public sealed record BouncedRecipient(EnvelopeRecipient Recipient, RecipientFailure Failure, string? Action = null);

/// <summary>
/// Builds delivery status notifications (RFC 3464) for failed recipients, and delay reports for
/// waiting ones (<see cref="BuildDelayReport"/>), with MimeKit:
/// <c>multipart/report; report-type=delivery-status</c> holding a human-readable <c>text/plain</c>
/// part, the <c>message/delivery-status</c> part and the original message's headers
/// (<c>text/rfc822-headers</c>), or the whole original (<c>message/rfc822</c>) when the sender asked
/// for it with <c>RET=FULL</c>.
/// </summary>
public static class BounceBuilder
{
    /// <summary>
    /// True when a failure of this recipient should be reported (RFC 3461 section 4.1): NOTIFY absent
    /// (the default is FAILURE,DELAY) or one that names FAILURE; NOTIFY=NEVER or a list without FAILURE
    /// asks for no report.
    /// </summary>
    public static bool WantsFailureReport(EnvelopeRecipient recipient) => DsnValues.Asks(recipient.Notify, DsnNotify.Failure);

    /// <summary>
    /// True when a delay of this recipient should be reported (RFC 3461 section 4.1): NOTIFY absent
    /// (the default is FAILURE,DELAY) or one that names DELAY.
    /// </summary>
    public static bool WantsDelayReport(EnvelopeRecipient recipient) => DsnValues.Asks(recipient.Notify, DsnNotify.Delay);

    /// <summary>True when the sender asked to hear of this recipient's delivery (NOTIFY names SUCCESS; never by default).</summary>
    public static bool WantsSuccessReport(EnvelopeRecipient recipient) => DsnValues.Asks(recipient.Notify, DsnNotify.Success);

    /// <summary>
    /// True when the message says it is list, bulk or machine-made mail (<c>List-Id</c>,
    /// <c>Precedence: bulk|list|junk</c>, an <c>Auto-Submitted</c> other than <c>no</c>): as Exim's
    /// default <c>delay_warning_condition</c>, it gets no delay report. A list's sender is a robot
    /// that cannot act on one, and RFC 3834 section 2 asks for no automatic answer to automatic mail.
    /// </summary>
    public static bool IsBulkOrAutomatic(byte[] originalData)
    {
        var headers = LoadHeaders(originalData)?.Headers;
        if (headers is null) return false;
        if (headers.Contains("List-Id")) return true;
        string precedence = headers["Precedence"]?.Trim() ?? "";
        if (precedence.Equals("bulk", StringComparison.OrdinalIgnoreCase) || precedence.Equals("list", StringComparison.OrdinalIgnoreCase)
            || precedence.Equals("junk", StringComparison.OrdinalIgnoreCase)) return true;
        string? auto = headers["Auto-Submitted"]?.Trim();
        return auto is not null && !auto.StartsWith("no", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The bounce as a MimeKit message.</summary>
    /// <param name="original">The failed message's envelope.</param>
    /// <param name="originalData">The failed message's data (headers and body) as spooled.</param>
    /// <param name="failed">The recipients to report, each with why it failed.</param>
    /// <param name="reportingMta">Our primary host name (Reporting-MTA, From: domain, Message-Id domain).</param>
    /// <param name="now">Date of the bounce.</param>
    public static MimeMessage Build(Envelope original, byte[] originalData, IReadOnlyList<BouncedRecipient> failed, string reportingMta, DateTimeOffset now)
        => Build(original, originalData, failed, reportingMta, now, Kind.Failure, TimeSpan.Zero);

    /// <summary>
    /// A success report (RFC 3461 NOTIFY=SUCCESS): for each recipient, "delivered" into its
    /// mailbox here or "relayed" to a host that does not report delivery itself; the original's
    /// headers only.
    /// </summary>
    public static MimeMessage BuildSuccessReport(Envelope original, byte[] originalData, IReadOnlyList<BouncedRecipient> delivered, string reportingMta, DateTimeOffset now)
        => Build(original, originalData, delivered, reportingMta, now, Kind.Success, TimeSpan.Zero);

    private enum Kind { Failure, Delay, Success }

    /// <summary>
    /// A delay report (Exim's delay warning): the same report with <c>Action: delayed</c> and each
    /// recipient's last temporary failure, and the original's headers only (RET asks about failure
    /// reports alone, RFC 3461 section 4.3).
    /// </summary>
    /// <param name="delayed">The recipients still waiting, each with its last temporary failure.</param>
    /// <param name="queued">How long the message has been on the queue.</param>
    public static MimeMessage BuildDelayReport(
        Envelope original, byte[] originalData, IReadOnlyList<BouncedRecipient> delayed, string reportingMta, DateTimeOffset now, TimeSpan queued)
        => Build(original, originalData, delayed, reportingMta, now, Kind.Delay, queued);

    /// <param name="queued">For a delay report, the time on the queue.</param>
    private static MimeMessage Build(
        Envelope original, byte[] originalData, IReadOnlyList<BouncedRecipient> failed, string reportingMta, DateTimeOffset now, Kind kind, TimeSpan queued)
    {
        ArgumentNullException.ThrowIfNull(original);
        if (failed.Count == 0) throw new ArgumentException("a report needs at least one recipient", nameof(failed));

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", $"Mailer-Daemon@{reportingMta}"));
        message.To.Add(new MailboxAddress("", original.Sender));
        message.Subject = kind switch
        {
            Kind.Delay => $"Warning: message {original.MessageId} delayed {Hours(queued)}",
            Kind.Success => $"Delivery report: message {original.MessageId} delivered",
            _ => "Mail delivery failed: returning message to sender",
        };
        message.Date = now;
        message.MessageId = MimeUtils.GenerateMessageId(reportingMta);
        message.Headers.Add("Auto-Submitted", "auto-replied");
        var originalHeaders = LoadHeaders(originalData);
        if (originalHeaders?.MessageId is { } originalId)
        {
            message.InReplyTo = originalId;
            message.References.Add(originalId);
        }

        var report = new MultipartReport("delivery-status")
        {
            Human(original, failed, reportingMta, kind, queued),
            Status(original, failed, reportingMta, kind switch { Kind.Delay => "delayed", Kind.Success => "delivered", _ => "failed" }),
            kind == Kind.Failure ? Returned(original, originalData, originalHeaders) : new TextRfc822Headers { Message = originalHeaders ?? new MimeMessage() },
        };
        message.Body = report;
        return message;
    }

    /// <summary>The bounce's bytes as they go into the spool (CRLF line endings).</summary>
    public static byte[] ToBytes(MimeMessage message)
    {
        using var stream = new MemoryStream();
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        message.WriteTo(options, stream);
        return stream.ToArray();
    }

    /// <summary>
    /// The part people read: who wrote it, what happened (<paramref name="lead"/>), each recipient
    /// with its <paramref name="detail"/>, then <paramref name="closing"/> and when and as what the
    /// original was received.
    /// </summary>
    private static TextPart HumanPart(Envelope original, string reportingMta, string lead,
        IReadOnlyList<BouncedRecipient> recipients, Func<BouncedRecipient, string> detail, string closing = "")
    {
        var text = new StringBuilder();
        text.Append("This message was created automatically by mail delivery software (ActorMta on ")
            .Append(reportingMta).Append(").\r\n\r\n").Append(lead).Append("\r\n\r\n");
        foreach (var r in recipients)
        {
            text.Append("  ").Append(r.Recipient.Address).Append("\r\n    ").Append(detail(r)).Append("\r\n");
        }
        text.Append("\r\n").Append(closing).Append("The message was received on ")
            .Append(original.ReceivedAt.ToUniversalTime().ToString("R", CultureInfo.InvariantCulture))
            .Append(" as ").Append(original.MessageId).Append(".\r\n");
        return new TextPart("plain") { Text = text.ToString() };
    }

    private static TextPart Human(Envelope original, IReadOnlyList<BouncedRecipient> recipients, string reportingMta, Kind kind, TimeSpan queued) => kind switch
    {
        Kind.Delay => HumanPart(original, reportingMta,
            $"A message that you sent {Hours(queued)} ago has not reached all of its\r\nrecipients yet. Nothing has failed for good: delivery is still being\r\n"
            + "tried, and you need not send the message again. Still waiting:",
            recipients, r => r.Failure.Text,
            "If delivery keeps failing, you will get another report when the\r\nmessage is given up on. "),
        Kind.Success => HumanPart(original, reportingMta,
            "You asked to be told when your message reached these recipients:",
            recipients, r => r.Action == "relayed"
                ? "handed on to a server that will not report further: " + r.Failure.Text
                : "delivered to the recipient's mailbox"),
        _ => HumanPart(original, reportingMta,
            "A message that you sent could not be delivered to one or more of its\r\nrecipients. This is a permanent error. The following address(es) failed:",
            recipients, r => r.Failure.Text),
    };

    /// <summary>"25 hours", or minutes or seconds for a period shorter than an hour (a short queue.delay-warning).</summary>
    private static string Hours(TimeSpan waited) =>
        waited.TotalHours >= 1 ? Count((int)waited.TotalHours, "hour")
        : waited.TotalMinutes >= 1 ? Count((int)waited.TotalMinutes, "minute")
        : Count(Math.Max(0, (int)waited.TotalSeconds), "second");

    private static string Count(int n, string unit) => n == 1 ? $"1 {unit}" : $"{n} {unit}s";

    private static MessageDeliveryStatus Status(Envelope original, IReadOnlyList<BouncedRecipient> failed, string reportingMta, string action)
    {
        var status = new MessageDeliveryStatus();
        var perMessage = new HeaderList();
        if (original.EnvId is { } envId) perMessage.Add("Original-Envelope-Id", envId);
        perMessage.Add("Reporting-MTA", $"dns; {reportingMta}");
        perMessage.Add("Arrival-Date", DateUtils.FormatDate(original.ReceivedAt));
        status.StatusGroups.Add(perMessage);

        foreach (var f in failed)
        {
            var group = new HeaderList();
            if (f.Recipient.ORcpt is { } orcpt) group.Add("Original-Recipient", OriginalRecipient(orcpt));
            group.Add("Final-Recipient", $"rfc822; {f.Recipient.Address}");
            group.Add("Action", f.Action ?? action);
            group.Add("Status", f.Failure.Status);
            if (f.Failure.RemoteMta is { } remote) group.Add("Remote-MTA", $"dns; {remote}");
            if (f.Failure.Diagnostic is { } diagnostic) group.Add("Diagnostic-Code", diagnostic);
            status.StatusGroups.Add(group);
        }
        return status;
    }

    /// <summary>ORCPT as given is <c>addr-type;xtext</c>: the DSN carries <c>addr-type; decoded</c> (RFC 3461 4.2).</summary>
    private static string OriginalRecipient(string orcpt)
    {
        int semicolon = orcpt.IndexOf(';');
        if (semicolon < 0) return orcpt;
        var value = new StringBuilder();
        string xtext = orcpt[(semicolon + 1)..];
        for (int i = 0; i < xtext.Length; i++)
        {
            if (xtext[i] == '+' && i + 2 < xtext.Length
                && int.TryParse(xtext.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
            {
                value.Append((char)code);
                i += 2;
            }
            else
            {
                value.Append(xtext[i]);
            }
        }
        return $"{orcpt[..semicolon]}; {value}";
    }

    private static MimeEntity Returned(Envelope original, byte[] originalData, MimeMessage? headersOnly)
    {
        if (string.Equals(original.Ret, "FULL", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return new MessagePart("rfc822") { Message = MimeMessage.Load(new MemoryStream(originalData)) };
            }
            catch (FormatException)
            {
                // Unparseable original: fall back to its headers below.
            }
        }
        return new TextRfc822Headers { Message = headersOnly ?? new MimeMessage() };
    }

    /// <summary>The original's header block alone, as a body-less message (null if it does not parse).</summary>
    private static MimeMessage? LoadHeaders(byte[] data)
    {
        int end = HeaderEnd(data);
        try
        {
            return MimeMessage.Load(new MemoryStream(data, 0, end));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Length of the header block including its terminating empty line (or all of it when there is none).</summary>
    private static int HeaderEnd(byte[] data)
    {
        var span = data.AsSpan();
        int crlf = span.IndexOf("\r\n\r\n"u8);
        int lf = span.IndexOf("\n\n"u8);
        if (crlf >= 0 && (lf < 0 || crlf + 1 <= lf)) return crlf + 4;
        if (lf >= 0) return lf + 2;
        return data.Length;
    }
}
