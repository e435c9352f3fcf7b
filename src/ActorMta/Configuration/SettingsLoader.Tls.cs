using System.Security.Authentication;
using ActorMta.Transport.Tls;

namespace ActorMta.Configuration;

// actormta.tls and actormta.listen-tls-on-connect.
public static partial class SettingsLoader
{
    /// <summary><c>actormta.listen-tls-on-connect</c> (RFC 8314, port 465 style); empty by default.</summary>
    private static IReadOnlyList<ListenerSettings> ReadTlsListeners(Reader r, IReadOnlyList<ListenerSettings> others)
    {
        const string path = "actormta.listen-tls-on-connect";
        var secure = r.Listeners(path, ListenerKind.TlsOnConnect);
        foreach (var listener in secure)
        {
            // One port speaks one way: a client could not know whether to start TLS or wait for a banner.
            if (others.Any(p => p.EndPoint.Equals(listener.EndPoint) && listener.EndPoint.Port != 0))
                r.Fail(path, $"{listener.EndPoint} is also in actormta.listen or actormta.listen-submission");
        }

        return secure;
    }

    private static TlsSettings ReadTls(Reader r)
    {
        string? certificate = r.OptionalPath("actormta.tls.certificate", emptyMeans: null);
        string? key = r.OptionalPath("actormta.tls.private-key", emptyMeans: null);
        var settings = new TlsSettings(
            CertificatePath: certificate,
            PrivateKeyPath: key,
            Protocols: ReadProtocols(r, "actormta.tls.protocols", TlsSettings.Disabled.Protocols),
            AdvertiseHosts: r.HostList("actormta.tls.advertise-hosts"),
            HandshakeTimeout: r.Duration("actormta.tls.handshake-timeout"));

        if (certificate is null)
        {
            if (key is not null) r.Fail("actormta.tls.private-key", "is set but actormta.tls.certificate is not");
            return settings;
        }

        // Check the files now, so `config check` and start-up name the key and the file; the
        // running MTA reads them again at start and on SIGHUP.
        try
        {
            using var loaded = PemCertificate.Load(certificate, key);
        }
        catch (TlsCertificateException e)
        {
            r.Fail(e.KeyFileAtFault ? "actormta.tls.private-key" : "actormta.tls.certificate", e.Message);
        }

        return settings;
    }

    /// <summary>
    /// A list of TLS versions (<c>tls.protocols</c>, <c>outbound.tls-protocols</c>): TLS 1.2 and 1.3
    /// only, spelled <c>TLS1.2</c> or Exim's/OpenSSL's <c>TLSv1.2</c>. On an error the caller's
    /// default is returned so the rest of the file is still checked.
    /// </summary>
    private static SslProtocols ReadProtocols(Reader r, string path, SslProtocols fallback)
    {
        var protocols = SslProtocols.None;
        var items = r.StringList(path);
        foreach (string item in items)
        {
            switch (item.Trim().ToUpperInvariant())
            {
                case "TLS1.2" or "TLSV1.2": protocols |= SslProtocols.Tls12; break;
                case "TLS1.3" or "TLSV1.3": protocols |= SslProtocols.Tls13; break;
                default:
                    r.Fail(path, $"unknown or unsupported TLS version \"{item}\": expected \"TLS1.2\" and/or \"TLS1.3\" (older versions are not offered)");
                    break;
            }
        }

        if (items.Count == 0) r.Fail(path, "must name at least one protocol (\"TLS1.2\", \"TLS1.3\")");
        return protocols == SslProtocols.None ? fallback : protocols;
    }
}
