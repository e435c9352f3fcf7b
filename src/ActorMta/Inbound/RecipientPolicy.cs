using System.Net;
using ActorMta.Configuration;
using ActorMta.Smtp;

namespace ActorMta.Inbound;

/// <summary>
/// Who may send to whom. Local domains are always accepted (subject to the user list); anything
/// else only to <c>relay-to-domains</c>, from <c>relay-from-hosts</c>, or for a client that
/// authenticated (SMTP AUTH). There is no other way through: ActorMta is never an open relay.
/// </summary>
/// <remarks>With a user list, a local domain takes its users (with any detail after
/// <c>local-delivery.recipient-delimiter</c>), the names in <c>local-delivery.aliases</c>, and
/// postmaster, which RFC 5321 section 4.5.1 says every host that delivers mail MUST accept,
/// whatever the list says.</remarks>
internal static class RecipientPolicy
{
    public enum Verdict { Local, Relay, UnknownUser, RelayDenied }

    private const string Postmaster = "postmaster";

    public static Verdict Check(PolicySettings policy, LocalDeliverySettings local, Mailbox recipient, IPAddress client, bool authenticated)
    {
        if (recipient.Domain.Length == 0) return Verdict.Local; // <Postmaster>, RFC 5321 section 4.5.1
        if (policy.LocalDomains.Contains(recipient.Domain))
        {
            if (policy.LocalUsers.Count == 0) return Verdict.Local;
            var (user, aliased) = local.UserOf(recipient.LocalPart);
            return aliased || policy.LocalUsers.Contains(user) || user == Postmaster ? Verdict.Local : Verdict.UnknownUser;
        }
        if (authenticated || policy.RelayToDomains.Contains(recipient.Domain) || policy.RelayFromHosts.Matches(client)) return Verdict.Relay;
        return Verdict.RelayDenied;
    }
}
