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

        var protocols = ReadProtocols(r, "actormta.outbound.tls-protocols", OutboundTlsSettings.Default.Protocols);

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
