namespace ActorMta.Destinations;

/// <summary>
/// The EHLO extensions the early-pipelining record remembers. The bit values are Exim's
/// <c>OPTION_*</c> values (src/macros.h), so a record prints like Exim's <c>clr 01e9</c> in debug
/// output and the persisted form never depends on the enum's member names.
/// </summary>
[Flags]
public enum EhloFeatures : ushort
{
    None = 0,
    StartTls = 0x001,
    IgnoreQuota = 0x002,
    Prdr = 0x004,
    SmtpUtf8 = 0x008,
    Dsn = 0x010,
    Pipelining = 0x020,
    Size = 0x040,
    Chunking = 0x080,
    PipeConnect = 0x100,
    EightBitMime = 0x200,
}

/// <summary>RFC 9422 LIMITS values from the EHLO reply; 0 means "not advertised".</summary>
public sealed record EhloLimits(int Mail, int Rcpt, int RcptDomain)
{
    public static readonly EhloLimits None = new(0, 0, 0);
}

/// <summary>
/// What a client needs to talk early to a host (spec Part A rule 8): the feature sets and AUTH
/// mechanism names of the cleartext and TLS-phase EHLO replies, the LIMITS, and when it was learned.
/// </summary>
public sealed record EarlyPipeRecord(
    EhloFeatures Cleartext,
    EhloFeatures Tls,
    IReadOnlyList<string> CleartextAuth,
    IReadOnlyList<string> TlsAuth,
    EhloLimits Limits,
    DateTimeOffset LearnedAt)
{
    /// <summary>Value equality including the AUTH lists (a record's generated Equals compares list references).</summary>
    public bool Equals(EarlyPipeRecord? other) =>
        other is not null
        && Cleartext == other.Cleartext
        && Tls == other.Tls
        && CleartextAuth.SequenceEqual(other.CleartextAuth, StringComparer.OrdinalIgnoreCase)
        && TlsAuth.SequenceEqual(other.TlsAuth, StringComparer.OrdinalIgnoreCase)
        && Limits == other.Limits
        && LearnedAt == other.LearnedAt;

    public override int GetHashCode() => HashCode.Combine(Cleartext, Tls, Limits, LearnedAt);
}
