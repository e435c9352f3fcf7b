namespace ActorMta.Configuration;

/// <summary><c>actormta.local-delivery</c>: maildir delivery for local domains.</summary>
public sealed record LocalDeliverySettings(string MaildirRoot)
{
    private static readonly IReadOnlyDictionary<string, string> NoAliases = new Dictionary<string, string>();

    /// <summary><c>local-delivery.aliases</c>: a local part (any case) and the user whose maildir
    /// receives its mail (lower case), like <c>/etc/aliases</c> limited to local users. A target is
    /// never an alias itself, so one lookup resolves an address.</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; init; } = NoAliases;

    /// <summary><c>local-delivery.recipient-delimiter</c> (Postfix's <c>recipient_delimiter</c>):
    /// with "+", <c>alice+lists</c> is delivered to alice. "" (the default): off.</summary>
    public string RecipientDelimiter { get; init; } = "";

    /// <summary>
    /// The user whose maildir receives mail for <paramref name="localPart"/>, in lower case, and
    /// whether an alias named it. As Postfix does: the whole local part's alias first, then the
    /// local part cut at the recipient delimiter, its alias or itself.
    /// </summary>
    public (string User, bool Aliased) UserOf(string localPart)
    {
        if (Aliases.TryGetValue(localPart, out string? user)) return (user, true);
        int cut = RecipientDelimiter.Length == 0 ? -1 : localPart.IndexOf(RecipientDelimiter, StringComparison.Ordinal);
        string owner = cut > 0 ? localPart[..cut] : localPart;
        return Aliases.TryGetValue(owner, out user) ? (user, true) : (owner.ToLowerInvariant(), false);
    }
}
