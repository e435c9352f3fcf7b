using ActorMta.Configuration;

namespace ActorMta.Delivery.Local;

/// <summary>
/// Which local parts of a local domain have someone to receive their mail: with
/// <c>policy.local-users</c> empty, every one; with a list, its users (any detail after
/// <c>local-delivery.recipient-delimiter</c> cut off), the names in <c>local-delivery.aliases</c>,
/// and postmaster, which RFC 5321 section 4.5.1 says every host that delivers mail MUST accept.
/// </summary>
/// <remarks>Asked at RCPT, and again at delivery for the recipients no RCPT checked: those of
/// <c>actormta sendmail</c>, of bounces, and of messages queued before the list changed.</remarks>
public static class LocalUsers
{
    private const string Postmaster = "postmaster";

    public static bool Exists(IReadOnlySet<string> users, LocalDeliverySettings local, string localPart)
    {
        if (users.Count == 0) return true;
        var (owners, aliased) = local.UsersOf(localPart);
        return aliased || users.Contains(owners[0]) || owners[0] == Postmaster;
    }
}
