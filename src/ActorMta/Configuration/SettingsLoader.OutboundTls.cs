using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary>The client's TLS keys in <c>actormta.outbound</c> (see <see cref="OutboundTlsSettings"/>).</summary>
    private static OutboundTlsSettings ReadOutboundTls(Reader r)
    {
        string? caFile = r.Path("actormta.outbound.tls-verify-certificates", emptyMeans: "");
        X509Certificate2Collection? roots = null;
        if (!string.IsNullOrEmpty(caFile))
        {
            try
            {
                roots = [];
                roots.ImportFromPemFile(caFile);
                if (roots.Count == 0) r.Fail("actormta.outbound.tls-verify-certificates", $"no certificate in \"{caFile}\"");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                r.Fail("actormta.outbound.tls-verify-certificates", $"cannot read trusted certificates from \"{caFile}\": {e.Message}");
            }
        }

        var protocols = SslProtocols.None;
        var badProtocol = false;
        foreach (string name in r.StringList("actormta.outbound.tls-protocols"))
        {
            switch (name.Trim().ToUpperInvariant())
            {
                case "TLS1.2" or "TLSV1.2": protocols |= SslProtocols.Tls12; break;
                case "TLS1.3" or "TLSV1.3": protocols |= SslProtocols.Tls13; break;
                default:
                    r.Fail("actormta.outbound.tls-protocols", $"expected \"TLS1.2\" and/or \"TLS1.3\", got \"{name}\"");
                    badProtocol = true;
                    break;
            }
        }
        if (protocols == SslProtocols.None)
        {
            if (!badProtocol) r.Fail("actormta.outbound.tls-protocols", "must name at least one protocol (\"TLS1.2\", \"TLS1.3\")");
            protocols = OutboundTlsSettings.Default.Protocols;
        }

        var ports = new HashSet<int>();
        foreach (string item in r.StringList("actormta.outbound.tls-on-connect-ports"))
        {
            if (int.TryParse(item.Trim(), out int port) && port is > 0 and <= 65535) ports.Add(port);
            else r.Fail("actormta.outbound.tls-on-connect-ports", $"expected TCP ports (1-65535), got \"{item}\"");
        }

        return new OutboundTlsSettings(
            HostsAvoidTls: r.HostList("actormta.outbound.hosts-avoid-tls"),
            HostsRequireTls: r.HostList("actormta.outbound.hosts-require-tls"),
            HostsVerifyTls: r.HostList("actormta.outbound.hosts-verify-tls"),
            VerifyCertificatesFile: string.IsNullOrEmpty(caFile) ? null : caFile,
            Protocols: protocols,
            TlsOnConnectPorts: ports,
            TempfailTryClear: r.Bool("actormta.outbound.tls-tempfail-tryclear"),
            ClearAfterFailure: r.Duration("actormta.outbound.tls-clear-after-failure"))
        {
            TrustedRoots = roots,
        };
    }
}
