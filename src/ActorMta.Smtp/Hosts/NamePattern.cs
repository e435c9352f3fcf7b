namespace ActorMta.Smtp;

/// <summary>
/// A host or domain name pattern: an exact name, or "*" followed by a suffix ("*.example.com" matches
/// subdomains only, because the suffix includes the dot). Case-insensitive; a trailing dot on either
/// side is ignored, as it only marks the name as absolute.
/// </summary>
internal readonly struct NamePattern
{
    private readonly string _name;
    private readonly bool _isSuffix;

    private NamePattern(string name, bool isSuffix)
    {
        _name = name;
        _isSuffix = isSuffix;
    }

    public static bool TryParse(string text, out NamePattern pattern)
    {
        pattern = default;
        bool suffix = text.StartsWith('*');
        string name = (suffix ? text[1..] : text).TrimEnd('.');
        if (suffix && name.Length == 0)
        {
            return false;
        }

        // "*.example.com": the part after the leading dot must itself be a name.
        string check = suffix && name.StartsWith('.') ? name[1..] : name;
        if (!IsName(check))
        {
            return false;
        }

        pattern = new NamePattern(name, suffix);
        return true;
    }

    public bool Matches(ReadOnlySpan<char> name)
    {
        name = name.TrimEnd('.');
        return _isSuffix
            ? name.Length > _name.Length && name.EndsWith(_name, StringComparison.OrdinalIgnoreCase)
            : name.Equals(_name, StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsName(string name)
    {
        if (name.Length is 0 or > 255)
        {
            return false;
        }

        string[] labels = name.Split('.');

        // No top-level domain is numeric, so "10.0.0" or "999.0.0.1" is a mistyped address, not a name.
        if (labels[^1].All(char.IsAsciiDigit))
        {
            return false;
        }

        foreach (string label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (char c in label)
            {
                // Non-ASCII for internationalised domains; '_' because real host names have it.
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_' && c < 0x80)
                {
                    return false;
                }
            }
        }

        return true;
    }
}
