using System.Globalization;
using System.Text;
using ActorMta.Spool;
using MimeKit;
using MimeKit.Utils;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Bounces;

/// <summary>One failed recipient in a bounce.</summary>
public sealed record BouncedRecipient(EnvelopeRecipient Recipient, RecipientFailure Failure);

/// <summary>
/// Builds delivery status notifications (RFC 3464) for failed recipients with MimeKit:
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
    public static bool WantsFailureReport(EnvelopeRecipient recipient)
    {
        if (string.IsNullOrWhiteSpace(recipient.Notify)) return true;
        foreach (var keyword in recipient.Notify.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (keyword.Equals("FAILURE", StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>The bounce as a MimeKit message.</summary>
    /// <param name="original">The failed message's envelope.</param>
    /// <param name="originalData">The failed message's data (headers and body) as spooled.</param>
    /// <param name="failed">The recipients to report, each with why it failed.</param>
    /// <param name="reportingMta">Our primary host name (Reporting-MTA, From: domain, Message-Id domain).</param>
    /// <param name="now">Date of the bounce.</param>
    public static MimeMessage Build(Envelope original, byte[] originalData, IReadOnlyList<BouncedRecipient> failed, string reportingMta, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(original);
        if (failed.Count == 0) throw new ArgumentException("a bounce needs at least one failed recipient", nameof(failed));

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", $"Mailer-Daemon@{reportingMta}"));
        message.To.Add(new MailboxAddress("", original.Sender));
        message.Subject = "Mail delivery failed: returning message to sender";
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
            Human(original, failed, reportingMta),
            Status(original, failed, reportingMta),
            Returned(original, originalData, originalHeaders),
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

    private static TextPart Human(Envelope original, IReadOnlyList<BouncedRecipient> failed, string reportingMta)
    {
        var text = new StringBuilder();
        text.Append("This message was created automatically by mail delivery software (ActorMta on ")
            .Append(reportingMta).Append(").\r\n\r\n")
            .Append("A message that you sent could not be delivered to one or more of its\r\n")
            .Append("recipients. This is a permanent error. The following address(es) failed:\r\n\r\n");
        foreach (var f in failed)
        {
            text.Append("  ").Append(f.Recipient.Address).Append("\r\n")
                .Append("    ").Append(f.Failure.Text).Append("\r\n");
        }
        text.Append("\r\nThe message was received on ")
            .Append(original.ReceivedAt.ToUniversalTime().ToString("R", CultureInfo.InvariantCulture))
            .Append(" as ").Append(original.MessageId).Append(".\r\n");
        return new TextPart("plain") { Text = text.ToString() };
    }

    private static MessageDeliveryStatus Status(Envelope original, IReadOnlyList<BouncedRecipient> failed, string reportingMta)
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
            group.Add("Action", "failed");
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
