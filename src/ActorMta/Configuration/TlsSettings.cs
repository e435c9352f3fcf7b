using System.Security.Authentication;
using ActorMta.Smtp;

namespace ActorMta.Configuration;

/// <summary>
/// <c>actormta.tls</c>: the server side of TLS, for STARTTLS on every listener and for the
/// TLS-on-connect listeners (<c>actormta.listen-tls-on-connect</c>).
/// </summary>
/// <param name="CertificatePath">PEM file with the certificate, then its chain; null: a self-signed one under the data directory.</param>
/// <param name="PrivateKeyPath">PEM file with the private key (PKCS#8, PKCS#1 or SEC1); null: the key is in the certificate file.</param>
/// <param name="Protocols">TLS versions accepted (TLS 1.2 and 1.3 by default; nothing older is offered).</param>
/// <param name="AdvertiseHosts">Host list: clients offered STARTTLS (Exim's tls_advertise_hosts).</param>
/// <param name="HandshakeTimeout">How long a client may take to finish the TLS handshake.</param>
public sealed record TlsSettings(
    string? CertificatePath,
    string? PrivateKeyPath,
    SslProtocols Protocols,
    HostList AdvertiseHosts,
    TimeSpan HandshakeTimeout)
{
    /// <summary>What settings built in code get (tests): no STARTTLS and no certificate made.</summary>
    public static readonly TlsSettings Disabled =
        new(null, null, SslProtocols.Tls12 | SslProtocols.Tls13, HostList.Empty, TimeSpan.FromSeconds(30));

    /// <summary>Folder (under the data directory) for the self-signed certificate made when none is configured.</summary>
    public const string SelfSignedFolder = "tls";
}
