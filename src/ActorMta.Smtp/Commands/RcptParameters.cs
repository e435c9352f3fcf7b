namespace ActorMta.Smtp;

/// <summary>
/// The ESMTP parameters of RCPT TO that ActorMta understands.
/// <see cref="NotifyRaw"/> is the NOTIFY value upper-cased (e.g. "SUCCESS,FAILURE"), kept so that it can
/// be relayed verbatim; <see cref="ORcpt"/> is the ORCPT value exactly as given ("addr-type;xtext"),
/// because RFC 3461 4.2 asks a relay to pass it on unchanged.
/// </summary>
public sealed record RcptParameters(DsnNotify Notify, string? NotifyRaw, string? ORcpt)
{
    public static readonly RcptParameters None = new(DsnNotify.Unspecified, null, null);
}
