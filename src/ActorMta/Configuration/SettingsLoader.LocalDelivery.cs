using ActorMta.Delivery.Local;

namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    private const string AliasesKey = "actormta.local-delivery.aliases";

    /// <summary>
    /// <c>actormta.local-delivery.aliases</c>: entries <c>"name: user"</c> or <c>"name: user, user"</c>
    /// as in <c>/etc/aliases</c>. A list of strings rather than an object, because a HOCON key with a
    /// dot in it (<c>first.last</c>) would be read as a path. Every mistake is reported against the key.
    /// </summary>
    private static LocalDeliverySettings ReadAliases(Reader r, LocalDeliverySettings local, IReadOnlySet<string> localUsers)
    {
        var aliases = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (string entry in r.StringList(AliasesKey))
        {
            int colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                r.Fail(AliasesKey, $"\"{entry}\" is not of the form \"name: user\" (or \"name: user, user\")");
                continue;
            }

            string name = entry[..colon].Trim().ToLowerInvariant();
            string[] users = entry[(colon + 1)..].Split(',').Select(u => u.Trim().ToLowerInvariant()).ToArray();
            if (!IsLocalPart(name))
            {
                r.Fail(AliasesKey, $"\"{entry}\": \"{name}\" is not a local part");
            }
            else if (users.FirstOrDefault(u => !IsLocalPart(u) || MaildirDelivery.SafeLocalPart(u) != u) is { } bad)
            {
                r.Fail(AliasesKey, $"\"{entry}\": \"{bad}\" is not a user name (it names a folder under maildir-root)");
            }
            else if (!aliases.TryAdd(name, users.Distinct(StringComparer.Ordinal).ToArray()))
            {
                r.Fail(AliasesKey, $"\"{name}\" is given twice");
            }
        }

        foreach (var (name, users) in aliases)
        {
            foreach (string user in users)
            {
                // One level only: a chain would make the maildirs depend on the order of lookups, and
                // a cycle would have no maildir at all.
                if (aliases.ContainsKey(user))
                {
                    r.Fail(AliasesKey, $"\"{name}: {user}\": \"{user}\" is an alias itself; name the users it stands for");
                }
                else if (localUsers.Count > 0 && !localUsers.Contains(user))
                {
                    r.Fail(AliasesKey, $"\"{name}: {user}\": \"{user}\" is not in actormta.policy.local-users");
                }
            }
        }

        return local with { Aliases = aliases, RecipientDelimiter = ReadRecipientDelimiter(r) };
    }

    /// <summary><c>actormta.local-delivery.recipient-delimiter</c>: "" or one character that cannot be part of a user's name by accident.</summary>
    private static string ReadRecipientDelimiter(Reader r)
    {
        const string key = "actormta.local-delivery.recipient-delimiter";
        string delimiter = r.String(key, allowEmpty: true);
        if (delimiter.Length == 0) return "";
        if (delimiter.Length != 1 || char.IsLetterOrDigit(delimiter[0]) || !IsLocalPart(delimiter) || delimiter[0] is '"' or '\\' or '/')
        {
            r.Fail(key, $"expected one character that is not a letter or digit, such as \"+\" (\"\" for none), got \"{delimiter}\"");
            return "";
        }

        return delimiter;
    }

    /// <summary>A local part as <c>policy.local-users</c> and aliases take it: not empty, no space, no <c>@</c>, no control character.</summary>
    private static bool IsLocalPart(string text) =>
        text.Length > 0 && !text.Any(c => char.IsWhiteSpace(c) || c == '@' || char.IsControl(c));
}
