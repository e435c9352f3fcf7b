using System.Text.RegularExpressions;

namespace ActorMta.Transport.Tls;

/// <summary>
/// Recognises, in a failed handshake's error text, the TLS alert a peer sends when it refuses our
/// certificate (OpenSSL spells them <c>tlsv1 alert unknown ca</c>, <c>sslv3 alert bad certificate</c>,
/// ...), so the main log can say so in words instead of a chain of library messages.
/// </summary>
public static partial class CertificateAlert
{
    /// <summary>The alert's text (e.g. <c>tlsv1 alert unknown ca</c>), or null when the failure was something else.</summary>
    public static string? Find(string errorText) =>
        Pattern().Match(errorText) is { Success: true } match ? match.Value : null;

    [GeneratedRegex(@"\b(?:ssl|tls)v\d+ alert (?:unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|unsupported certificate)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
