namespace ActorMta.Configuration;

/// <summary><c>actormta.local-delivery</c>: maildir delivery for local domains.</summary>
public sealed record LocalDeliverySettings(string MaildirRoot)
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoAliases = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary><c>local-delivery.aliases</c>: a local part (any case) and the users whose maildirs
    /// receive its mail (lower case, one or more), like <c>/etc/aliases</c> limited to local users.
    /// A target is never an alias itself, so one lookup resolves an address.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Aliases { get; init; } = NoAliases;

    /// <summary><c>local-delivery.recipient-delimiter</c> (Postfix's <c>recipient_delimiter</c>):
    /// with "+", <c>alice+lists</c> is delivered to alice. "" (the default): off.</summary>
    public string RecipientDelimiter { get; init; } = "";

    /// <summary>
    /// The users whose maildirs receive mail for <paramref name="localPart"/>, in lower case, and
    /// whether an alias named them. As Postfix does: the whole local part's alias first, then the
    /// local part cut at the recipient delimiter, its alias or itself (then the only user).
    /// </summary>
    public (IReadOnlyList<string> Users, bool Aliased) UsersOf(string localPart)
    {
        if (Aliases.TryGetValue(localPart, out var users)) return (users, true);
        int cut = RecipientDelimiter.Length == 0 ? -1 : localPart.IndexOf(RecipientDelimiter, StringComparison.Ordinal);
        string owner = cut > 0 ? localPart[..cut] : localPart;
        return Aliases.TryGetValue(owner, out users) ? (users, true) : ([owner.ToLowerInvariant()], false);
    }
}
