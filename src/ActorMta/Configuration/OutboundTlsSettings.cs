using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorMta.Smtp;

namespace ActorMta.Configuration;

/// <summary>
/// TLS for the SMTP client (keys under <c>actormta.outbound</c>), named after Exim's smtp transport:
/// <c>hosts-avoid-tls</c> (hosts_avoid_tls), <c>hosts-require-tls</c> (hosts_require_tls),
/// <c>hosts-verify-tls</c> (tls_verify_hosts), <c>tls-verify-certificates</c>
/// (tls_verify_certificates), <c>tls-tempfail-tryclear</c> (tls_tempfail_tryclear).
/// STARTTLS is used whenever the server offers it and the host is not avoided (opportunistic).
/// </summary>
/// <param name="HostsAvoidTls">Never STARTTLS to these hosts (a broken server that offers it).</param>
/// <param name="HostsRequireTls">Defer rather than send in clear when TLS is not offered or fails.</param>
/// <param name="HostsVerifyTls">The certificate must chain to a trusted root and name the host (MX or smarthost name); else defer.</param>
/// <param name="VerifyCertificatesFile">PEM file of trusted roots; null: the system's store.</param>
/// <param name="Protocols">TLS versions offered.</param>
/// <param name="TlsOnConnectPorts">Remote ports spoken to with TLS from the first byte (RFC 8314, 465).</param>
/// <param name="TempfailTryClear">After a failed handshake with a host that does not require TLS, deliver in clear text on a new connection.</param>
/// <param name="ClearAfterFailure">How long the destination remembers that failure, so the next connections go straight to clear text.</param>
public sealed record OutboundTlsSettings(
    HostList HostsAvoidTls,
    HostList HostsRequireTls,
    HostList HostsVerifyTls,
    string? VerifyCertificatesFile,
    SslProtocols Protocols,
    IReadOnlySet<int> TlsOnConnectPorts,
    bool TempfailTryClear,
    TimeSpan ClearAfterFailure)
{
    /// <summary>The roots read from <see cref="VerifyCertificatesFile"/> at start-up (null: the system's store).</summary>
    public X509Certificate2Collection? TrustedRoots { get; init; }

    /// <summary>Opportunistic STARTTLS, TLS 1.2 and 1.3, 465 on connect, clear-text fallback remembered for an hour.</summary>
    public static readonly OutboundTlsSettings Default = new(
        HostsAvoidTls: HostList.Empty,
        HostsRequireTls: HostList.Empty,
        HostsVerifyTls: HostList.Empty,
        VerifyCertificatesFile: null,
        Protocols: SslProtocols.Tls12 | SslProtocols.Tls13,
        TlsOnConnectPorts: new HashSet<int> { 465 },
        TempfailTryClear: true,
        ClearAfterFailure: TimeSpan.FromHours(1));
}
