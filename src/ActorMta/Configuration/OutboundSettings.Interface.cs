using System.Net;

namespace ActorMta.Configuration;

public sealed partial record OutboundSettings
{
    /// <summary>
    /// <c>actormta.outbound.interface</c> (Exim's smtp transport <c>interface</c>, Postfix's
    /// <c>smtp_bind_address</c>): the local address outgoing connections come from, at most one
    /// IPv4 and one IPv6 address; the one of the destination's family is used, and the system
    /// chooses where the list has none. On a host with several addresses this is the one whose
    /// reverse DNS, SPF record and reputation the receivers will see.
    /// </summary>
    public IReadOnlyList<IPAddress> Interface { get; init; } = [];

    /// <summary>The address a connection to <paramref name="destination"/> is made from, or null for the system's choice.</summary>
    public IPAddress? InterfaceFor(IPAddress destination) => Interface.FirstOrDefault(a => a.AddressFamily == destination.AddressFamily);
}
