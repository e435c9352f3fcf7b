namespace ActorMta.Smtp;

/// <summary>
/// An Exim-style domain list: "example.com" (exact), "*.example.com" (subdomains only), "*" (any),
/// each optionally negated with "!". First match decides, as in <see cref="HostList"/>; an empty list
/// contains nothing.
/// </summary>
public sealed class DomainList
{
    private readonly Item[] _entries;
    private readonly string[] _items;

    private DomainList(string[] items, Item[] entries)
    {
        _items = items;
        _entries = entries;
    }

    public static DomainList Empty { get; } = Parse([]);

    public IReadOnlyList<string> Items => _items;

    /// <summary>Parses the items; <see cref="FormatException"/> names the first bad one.</summary>
    public static DomainList Parse(IEnumerable<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        string[] texts = [.. items];
        var entries = new Item[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            entries[i] = ParseItem(texts[i]);
        }

        return new DomainList(texts, entries);
    }

    /// <summary>Case-insensitive; a trailing dot on <paramref name="domain"/> is ignored.</summary>
    public bool Contains(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        foreach (Item entry in _entries)
        {
            if (entry.IsAny || entry.Pattern.Matches(domain))
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
            return new Item(negated, true, default);
        }

        // Only "*." may start a wildcard: "*example.com" would also match "badexample.com".
        bool wildcardOk = !item.StartsWith('*') || item.StartsWith("*.", StringComparison.Ordinal);
        if (wildcardOk && NamePattern.TryParse(item, out NamePattern pattern))
        {
            return new Item(negated, false, pattern);
        }

        throw new FormatException($"Domain list item '{text}' is not \"*\", a domain or \"*.\" followed by a domain.");
    }

    private readonly record struct Item(bool Negated, bool IsAny, NamePattern Pattern);
}
