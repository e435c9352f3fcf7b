using ActorMta.Smtp;
using ActorMta.Spool;

namespace ActorMta.Inbound;

/// <summary>The mail transaction in progress: from MAIL to the end of the data, reset by RSET/EHLO.</summary>
internal sealed class Transaction
{
    public Mailbox? Sender;
    public MailParameters Parameters = MailParameters.None;
    public readonly List<EnvelopeRecipient> Recipients = new();
    public bool UsedChunking;

    public void Clear()
    {
        Sender = null;
        Parameters = MailParameters.None;
        Recipients.Clear();
        UsedChunking = false;
    }
}
