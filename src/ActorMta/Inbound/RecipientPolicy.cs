using System.Net;
using ActorMta.Configuration;
using ActorMta.Delivery.Local;
using ActorMta.Smtp;

namespace ActorMta.Inbound;

/// <summary>
/// Who may send to whom. Local domains are always accepted (subject to the user list,
/// <see cref="LocalUsers"/>); anything else only to <c>relay-to-domains</c>, from
/// <c>relay-from-hosts</c>, or for a client that authenticated (SMTP AUTH). There is no other
/// way through: ActorMta is never an open relay.
/// </summary>
internal static class RecipientPolicy
{
    public enum Verdict { Local, Relay, UnknownUser, RelayDenied }

    public static Verdict Check(PolicySettings policy, LocalDeliverySettings local, Mailbox recipient, IPAddress client, bool authenticated)
    {
        if (recipient.Domain.Length == 0) return Verdict.Local; // <Postmaster>, RFC 5321 section 4.5.1
        if (policy.LocalDomains.Contains(recipient.Domain))
        {
            return LocalUsers.Exists(policy.LocalUsers, local, recipient.LocalPart) ? Verdict.Local : Verdict.UnknownUser;
        }
        if (authenticated || policy.RelayToDomains.Contains(recipient.Domain) || policy.RelayFromHosts.Matches(client)) return Verdict.Relay;
        return Verdict.RelayDenied;
    }
}
