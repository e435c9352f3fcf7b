using System.Globalization;
using System.Text;

namespace ActorMta.Inbound;

/// <summary>
/// The trace header we prepend (RFC 5321 section 4.4), with the RFC 3848 / RFC 6531 "with"
/// protocol keyword. One recipient is named in "for"; with several none is, as Exim does, so
/// the header does not disclose the other recipients.
/// </summary>
internal static class ReceivedHeader
{
    public static byte[] Build(string? helo, string clientAddress, int clientPort, string hostname, string withProtocol,
        string messageId, string? singleRecipient, DateTimeOffset when)
    {
        var sb = new StringBuilder(200);
        sb.Append("Received: from ").Append(helo ?? "unknown").Append(" ([").Append(clientAddress).Append("]:").Append(clientPort).Append(")\r\n");
        sb.Append("\tby ").Append(hostname).Append(" (ActorMta) with ").Append(withProtocol).Append("\r\n");
        sb.Append("\tid ").Append(messageId);
        if (singleRecipient is not null) sb.Append("\r\n\tfor <").Append(singleRecipient).Append('>');
        sb.Append("; ").Append(Rfc5322Date(when)).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>RFC 5322 date-time, e.g. "Sun, 29 Nov 2026 11:42:09 +0000".</summary>
    public static string Rfc5322Date(DateTimeOffset when)
    {
        var offset = when.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        offset = offset.Duration();
        return when.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) +
               sign + offset.Hours.ToString("00", CultureInfo.InvariantCulture) + offset.Minutes.ToString("00", CultureInfo.InvariantCulture);
    }
}
