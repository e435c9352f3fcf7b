using System.Net;
using System.Net.Sockets;

namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.metrics</c>: on or off, the address of /metrics and /health, and the top-N destinations.</summary>
    private static MetricsSettings ReadMetrics(Reader r)
    {
        var address = r.EndPoint("actormta.metrics.address", MetricsSettings.Default.Address);
        // HttpListener (the exporter's and the health listener's) parses "http://[::1]:9464/" as a
        // bad port, so a single IPv6 address could only fail at start; say so here instead.
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && !address.Address.Equals(IPAddress.IPv6Any))
        {
            r.Fail("actormta.metrics.address",
                $"HttpListener cannot listen on the IPv6 address {address.Address}; use an IPv4 address, or \"[::]:{address.Port}\" for every address");
        }
        return new MetricsSettings(
            Enabled: r.Bool("actormta.metrics.enabled"),
            Address: address,
            TopDestinations: r.NonNegativeInt("actormta.metrics.top-destinations", maximum: MaxTopDestinations));
    }
}
