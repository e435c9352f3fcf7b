using System.Text;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Inbound;
using ActorMta.Logging;
using ActorMta.Metrics;
using ActorMta.Queue;
using ActorMta.Smtp;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Control;

/// <summary>What <c>actormta sendmail</c> hands to the MTA.</summary>
/// <param name="Sender">-f: envelope sender ("" for &lt;&gt;); null: the submitting user at primary-hostname.</param>
/// <param name="Recipients">Addresses from the command line (bare local parts are qualified with primary-hostname).</param>
/// <param name="ExtractRecipients">-t: recipients come from To, Cc and Bcc; Bcc is removed; command-line addresses are taken out (Exim's rule).</param>
/// <param name="FullName">-F: the name in a From header we add.</param>
/// <param name="User">Who submits (from the socket's peer credentials).</param>
/// <param name="Data">The message as read from standard input, dot handling done.</param>
public sealed record Submission(string? Sender, IReadOnlyList<string> Recipients, bool ExtractRecipients, string? FullName, string User, byte[] Data)
{
    /// <summary>RFC 3461 NOTIFY for every recipient (sendmail's -N), upper-cased and valid, or null.</summary>
    public string? Notify { get; init; }

    /// <summary>RFC 3461 RET (sendmail's -R): "FULL" or "HDRS", or null.</summary>
    public string? Ret { get; init; }
}

/// <summary>A submission refused; <see cref="Status"/> is a <see cref="ControlProtocol"/> status.</summary>
public sealed class SubmissionException(string status, string message) : Exception(message)
{
    public string Status { get; } = status;
}

/// <summary>
/// Local submission (<c>sendmail</c>): the message gets what an SMTP reception gives it — line
/// endings made CRLF, a Received header, the missing From/Date/Message-ID an MUA should have
/// written (Exim adds them for local messages too), the size and recipient limits of
/// <c>actormta.smtp</c> — and is spooled with the same durability (<see cref="MessageSpool.StoreAsync"/>
/// completes only once it would survive a crash) before the queue hears of it and before the
/// submitter is told it is accepted. The main log gets Exim's local reception line:
/// <c>&lt;= sender U=user P=local S=size id=msgid for rcpts</c>.
/// </summary>
public sealed class LocalSubmission(MtaSettings settings, MessageSpool spool, MainLog mainLog, IActorRef queue)
{
    /// <summary>The listener label of local submissions in <c>actormta_messages_received_total</c>.</summary>
    public const string ListenerLabel = "local";

    /// <returns>The new message's spool id.</returns>
    /// <exception cref="SubmissionException">Bad addresses, no recipients, over a limit, or the spool refused.</exception>
    public async Task<string> SubmitAsync(Submission submission)
    {
        string host = settings.PrimaryHostname;
        var message = MessageText.Parse(submission.Data);
        var recipients = submission.Recipients.Select(a => Qualify(a, host)).ToList();
        if (submission.ExtractRecipients)
        {
            var fromHeaders = message.Values("to").Concat(message.Values("cc")).Concat(message.Values("bcc"))
                .SelectMany(HeaderRecipients.Parse).Select(a => Qualify(a, host)).ToList();
            var named = new HashSet<string>(recipients, StringComparer.OrdinalIgnoreCase);
            recipients = fromHeaders.Where(a => !named.Contains(a)).ToList();
            message.Remove("bcc");
        }
        recipients = recipients.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var r in recipients) CheckAddress(r, "recipient");
        if (recipients.Count == 0)
            throw new SubmissionException(ControlProtocol.BadRequest, submission.ExtractRecipients ? "no recipients in the To, Cc or Bcc headers" : "no recipients given");
        if (recipients.Count > settings.Smtp.MaxRecipients)
            throw new SubmissionException(ControlProtocol.BadRequest, $"too many recipients: {recipients.Count}, the limit is {settings.Smtp.MaxRecipients} (actormta.smtp.max-recipients)");

        string userAddress = Qualify(submission.User, host);
        string sender = submission.Sender is null ? userAddress : submission.Sender is "<>" ? "" : Qualify(submission.Sender.Trim('<', '>'), host);
        if (sender.Length > 0) CheckAddress(sender, "sender");

        if (!spool.Space.HasRoomFor(submission.Data.Length, out long free))
            throw new SubmissionException(ControlProtocol.Failed,
                $"not enough space in the spool: {spool.Space.Shortage(free)}; try again later");

        string id = spool.NewMessageId();
        var now = DateTimeOffset.Now;
        string? headerMessageId = message.Values("message-id").FirstOrDefault()?.Trim().Trim('<', '>');
        if (headerMessageId is null)
        {
            headerMessageId = $"{id}@{host}";
            message.Add("Message-Id", $"<{headerMessageId}>");
        }
        if (!message.Has("from"))
            message.Add("From", submission.FullName is { Length: > 0 } name ? $"{QuoteName(name)} <{userAddress}>" : userAddress);
        if (!message.Has("date")) message.Add("Date", ReceivedHeader.Rfc5322Date(now));

        byte[] received = Encoding.UTF8.GetBytes(
            $"Received: from {submission.User} by {host} with local (ActorMta)\r\n\t(envelope-from <{sender}>)\r\n\tid {id}"
            + (recipients.Count == 1 ? $"\r\n\tfor {recipients[0]}" : "") + $"; {ReceivedHeader.Rfc5322Date(now)}\r\n");
        byte[] data = [.. received, .. message.ToBytes()];
        if (data.Length > settings.Smtp.MaxMessageSize)
            throw new SubmissionException(ControlProtocol.Failed, $"message too big: {data.Length} bytes, the limit is {settings.Smtp.MaxMessageSize} (actormta.smtp.max-message-size)");
        // The same loop check as for SMTP (a program that mails what it is sent, fed by a relay).
        int hops = message.Values("received").Count();
        if (hops > settings.Smtp.MaxReceivedHeaders)
        {
            mainLog.Write($"U={submission.User} F=<{sender}> rejected local submission: too many Received: header fields ({hops}): suspected mail loop");
            throw new SubmissionException(ControlProtocol.Failed,
                $"too many Received: header fields ({hops}, more than {settings.Smtp.MaxReceivedHeaders}, actormta.smtp.max-received-headers): suspected mail loop");
        }

        bool utf8 = !Ascii.IsValid(sender) || recipients.Any(r => !Ascii.IsValid(r));
        var envelope = new Envelope(
            MessageId: id,
            Sender: sender,
            Recipients: recipients.Select(r => new EnvelopeRecipient(r, submission.Notify, null)).ToArray(),
            ReceivedAt: now,
            HeloName: null,
            ClientAddress: "",
            ClientPort: 0,
            Protocol: "local",
            Body: data.Any(static b => b >= 0x80) ? "8BITMIME" : null,
            SmtpUtf8: utf8,
            Ret: submission.Ret,
            EnvId: null,
            HeaderMessageId: headerMessageId,
            Size: data.Length);
        try
        {
            await spool.StoreAsync(envelope, [data]).ConfigureAwait(false);
        }
        catch (SpoolException e)
        {
            mainLog.Write($"U={submission.User} F=<{sender}> temporarily rejected local submission: spool write failed: {e.Message}");
            throw new SubmissionException(ControlProtocol.Failed, $"spool write failed: {e.Message}");
        }
        queue.Tell(new QueueManager.Enqueue(envelope));
        mainLog.Write($"{id} <= {(sender.Length == 0 ? "<>" : sender)} U={submission.User} P=local S={data.Length} id={headerMessageId} for {string.Join(' ', recipients)}");
        MtaMetrics.MessageReceived(ListenerLabel, data.Length);
        return id;
    }

    /// <summary>A bare local part gets the primary host name, as Exim's qualify_domain does.</summary>
    private static string Qualify(string address, string host)
    {
        address = address.Trim();
        return address.Contains('@') || address.Length == 0 ? address : $"{address}@{host}";
    }

    private static void CheckAddress(string address, string what)
    {
        // The SMTP grammar decides, as for an address given in MAIL or RCPT.
        var line = Encoding.UTF8.GetBytes(what == "sender" ? $"MAIL FROM:<{address}>" : $"RCPT TO:<{address}>");
        if (address.Length == 0 || !CommandParser.Parse(line).IsSuccess)
            throw new SubmissionException(ControlProtocol.BadRequest, $"bad {what} address \"{address}\"");
    }

    private static string QuoteName(string name) =>
        name.All(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '.' or '\'') ? name : "\"" + name.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
