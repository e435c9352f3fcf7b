using System.Net;

namespace ActorMta.Smtp;

/// <summary>
/// An Exim-style host list: "*", IP addresses, CIDR blocks and host-name patterns, each optionally
/// negated with "!". Items are tried in order and the first match decides: a negated item that
/// matches means "not in the list"; nothing matching also means "not in the list". So
/// ["!192.0.2.1", "192.0.2.0/24"] is the /24 without one host, and the order matters.
/// </summary>
public sealed class HostList
{
    private readonly Item[] _entries;
    private readonly string[] _items;

    private HostList(string[] items, Item[] entries)
    {
        _items = items;
        _entries = entries;
    }

    private enum Kind
    {
        Any,
        Network,
        Name,
    }

    /// <summary>Matches nobody.</summary>
    public static HostList Empty { get; } = Parse([]);

    /// <summary>"*": matches every host.</summary>
    public static HostList Any { get; } = Parse(["*"]);

    /// <summary>The items as configured, for logs and diagnostics.</summary>
    public IReadOnlyList<string> Items => _items;

    /// <summary>Parses the items; <see cref="FormatException"/> names the first item that is not an
    /// address, block, name pattern or "*" (start-up must fail rather than silently match nobody).</summary>
    public static HostList Parse(IEnumerable<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        string[] texts = [.. items];
        var entries = new Item[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            entries[i] = ParseItem(texts[i]);
        }

        return new HostList(texts, entries);
    }

    /// <summary>
    /// True when the host is in the list. Name patterns match only when <paramref name="hostName"/> is
    /// known (a verified reverse-DNS name); otherwise they are skipped and later items decide.
    /// </summary>
    public bool Matches(IPAddress address, string? hostName = null)
    {
        ArgumentNullException.ThrowIfNull(address);

        // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; IPv4 items must still match them.
        Span<byte> bytes = stackalloc byte[16];
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (!address.TryWriteBytes(bytes, out int length))
        {
            return false;
        }

        bytes = bytes[..length];
        foreach (Item entry in _entries)
        {
            bool hit = entry.Kind switch
            {
                Kind.Any => true,
                Kind.Network => entry.Network.Contains(bytes),
                _ => hostName is not null && entry.Name.Matches(hostName),
            };
            if (hit)
            {
                return !entry.Negated;
            }
        }

        return false;
    }

    public override string ToString() => string.Join(" : ", _items);

    private static Item ParseItem(string text)
    {
        string item = ListItem.Strip(text, out bool negated);

        if (item == "*")
        {
            return new Item(negated, Kind.Any, default, default);
        }

        if (IpNetwork.TryParse(item, out IpNetwork network))
        {
            return new Item(negated, Kind.Network, network, default);
        }

        // Anything with a '/' or ':' was meant as an address; don't reinterpret it as a name.
        if (item.IndexOfAny(['/', ':']) < 0 && NamePattern.TryParse(item, out NamePattern name))
        {
            return new Item(negated, Kind.Name, default, name);
        }

        throw new FormatException($"Host list item '{text}' is not \"*\", an IP address, an address/prefix block or a host name pattern.");
    }

    private readonly record struct Item(bool Negated, Kind Kind, IpNetwork Network, NamePattern Name);
}
