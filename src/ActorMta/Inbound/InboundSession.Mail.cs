using ActorMta.Smtp;
using ActorMta.Spool;

namespace ActorMta.Inbound;

// MAIL and RCPT: the envelope, its limits and the relay policy.
public sealed partial class InboundSession
{
    private readonly Transaction _transaction = new();
    private int _messagesAccepted;

    private void ResetTransaction()
    {
        _transaction.Clear();
        AbortMessage();
    }

    private void OnMail(MailCommand mail)
    {
        if (RefuseUnauthenticatedMail()) return;
        if (_messagesAccepted >= _smtp.MaxMessagesPerConnection)
        {
            _context.MainLog.Write($"SMTP connection from {HostField()} closed: too many messages in this connection");
            Reply(Replies.TooManyMessages(_hostname));
            CloseAfterFlush();
            return;
        }

        var parameters = mail.Parameters;
        if (parameters.Size is { } declared && declared > _smtp.MaxMessageSize)
        {
            _context.MainLog.Write($"{HostField()} F=<{mail.From}> rejected MAIL: message too big: declared size {declared} > {_smtp.MaxMessageSize}");
            Reply(Replies.SizeAtMail(_smtp.MaxMessageSize));
            return;
        }
        if (!_context.Spool.Space.HasRoomFor(parameters.Size ?? 0, out long free))
        {
            _context.MainLog.Write(
                $"{HostField()} F=<{mail.From}> temporarily rejected MAIL: spool has {_context.Spool.Space.Shortage(free)}{(parameters.Size is { } size ? $" with SIZE={size}" : "")}");
            Reply(Replies.InsufficientStorage);
            return;
        }
        if (parameters.Body == BodyType.BinaryMime)
        {
            Reply(Replies.BinaryMimeNotSupported);
            return;
        }
        if (mail.From is { IsInternational: true } && !parameters.SmtpUtf8)
        {
            Reply(Replies.InternationalWithoutSmtpUtf8);
            return;
        }

        _transaction.Sender = mail.From;
        _transaction.Parameters = parameters;
        _state = ServerState.MailGiven;
        Reply(Replies.SenderOk);
    }

    private void OnRcpt(RcptCommand rcpt)
    {
        var to = rcpt.To;
        if (to.IsInternational && !_transaction.Parameters.SmtpUtf8)
        {
            Reply(Replies.InternationalWithoutSmtpUtf8);
            return;
        }
        if (_transaction.Recipients.Count >= _smtp.MaxRecipients)
        {
            Reply(Replies.TooManyRecipients);
            return;
        }

        switch (RecipientPolicy.Check(_context.Settings.Policy, _context.Settings.LocalDelivery, to, _clientAddress, authenticated: _authenticatedId is not null))
        {
            case RecipientPolicy.Verdict.RelayDenied:
                _context.MainLog.Write($"{HostField()} F=<{_transaction.Sender}> rejected RCPT <{to}>: relay not permitted");
                Reply(Replies.RelayDenied);
                return;
            case RecipientPolicy.Verdict.UnknownUser:
                _context.MainLog.Write($"{HostField()} F=<{_transaction.Sender}> rejected RCPT <{to}>: unknown user");
                Reply(Replies.UnknownUser);
                return;
        }

        // <Postmaster> without a domain is the postmaster of this host (RFC 5321 section 4.5.1).
        var address = to.Domain.Length == 0 ? $"{to.LocalPart}@{_hostname}" : to.ToString();
        _transaction.Recipients.Add(new EnvelopeRecipient(address, rcpt.Parameters.NotifyRaw, rcpt.Parameters.ORcpt));
        _state = ServerState.RcptGiven;
        Reply(Replies.RecipientOk);
    }
}
