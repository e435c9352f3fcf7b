namespace ActorMta.Smtp;

/// <summary>
/// The ESMTP parameters of MAIL FROM that ActorMta understands.
/// <see cref="Ret"/> is "FULL" or "HDRS" (upper-cased); <see cref="EnvId"/> and <see cref="Auth"/> are
/// xtext-decoded (RFC 3461 4, RFC 4954 5); <see cref="Auth"/> is "&lt;&gt;" when the client sent AUTH=&lt;&gt;.
/// </summary>
public sealed record MailParameters(long? Size, BodyType Body, bool SmtpUtf8, string? Ret, string? EnvId, string? Auth)
{
    /// <summary>No parameters: shared so that a plain MAIL FROM allocates no parameter object.</summary>
    public static readonly MailParameters None = new(null, BodyType.Unspecified, false, null, null, null);
}
