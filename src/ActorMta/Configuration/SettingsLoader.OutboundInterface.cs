using System.Net;
using System.Net.Sockets;

namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.outbound.interface</c>: IP addresses of this machine, one per family.</summary>
    private static OutboundSettings ReadInterface(Reader r, OutboundSettings outbound)
    {
        const string key = "actormta.outbound.interface";
        var addresses = r.Addresses(key);
        foreach (var family in addresses.GroupBy(a => a.AddressFamily).Where(g => g.Count() > 1))
        {
            r.Fail(key, $"{string.Join(" and ", family)} are both {(family.Key == AddressFamily.InterNetwork ? "IPv4" : "IPv6")}: give at most one address of each family (a connection uses the one of its destination's)");
        }
        foreach (var address in addresses)
        {
            // Found now rather than as a deferral of every remote delivery.
            if (CannotBind(address) is { } why) r.Fail(key, $"cannot send from {address}: {why}");
        }
        return outbound with { Interface = addresses };
    }

    private static string? CannotBind(IPAddress address)
    {
        try
        {
            using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(address, 0));
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.AddressNotAvailable ? "it is not an address of this machine" : e.Message;
        }
    }
}
