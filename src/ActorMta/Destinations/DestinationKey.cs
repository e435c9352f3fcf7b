using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ActorMta.Destinations;

/// <summary>
/// A remote SMTP endpoint: one IP address and one TCP port. Its text form is Exim's hints key
/// without the <c>.EHLO</c> suffix: <c>192.0.2.1:25</c>, <c>[2001:db8::1]:25</c> (IPv6 bracketed).
/// The text form is the entity id (and, prefixed, the persistence id), so it must never change.
/// </summary>
public readonly record struct DestinationKey(IPAddress Address, int Port)
{
    /// <summary>The key as text; also the cluster entity id.</summary>
    public string EntityId => ToString();

    public override string ToString()
    {
        if (Address is null)
            return "";
        var port = Port.ToString(CultureInfo.InvariantCulture);
        return Address.AddressFamily == AddressFamily.InterNetworkV6
            ? "[" + Address + "]:" + port
            : Address + ":" + port;
    }

    /// <summary>Parses <c>a.b.c.d:port</c> or <c>[v6]:port</c>.</summary>
    /// <exception cref="FormatException">The text is not a key.</exception>
    public static DestinationKey Parse(string text) =>
        TryParse(text, out var key) ? key : throw new FormatException($"not a destination key: '{text}'");

    public static bool TryParse(string? text, out DestinationKey key)
    {
        key = default;
        if (string.IsNullOrEmpty(text))
            return false;
        string host;
        string port;
        if (text[0] == '[')
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
                return false;
            host = text[1..close];
            port = text[(close + 2)..];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
                return false;
            if (!TryPort(port, out var p6))
                return false;
            key = new DestinationKey(v6, p6);
            return true;
        }
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || text.IndexOf(':') != colon)
            return false;
        host = text[..colon];
        port = text[(colon + 1)..];
        if (!IPAddress.TryParse(host, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork
            || v4.ToString() != host)
            return false;
        if (!TryPort(port, out var p4))
            return false;
        key = new DestinationKey(v4, p4);
        return true;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
