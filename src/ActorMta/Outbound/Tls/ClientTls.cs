using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Routing;
using ActorMta.Transport;
using ActorMta.Transport.Tls;

namespace ActorMta.Outbound.Tls;

/// <summary>The handshake failed, or the certificate did not pass a check the host's policy requires.</summary>
internal sealed class TlsHandshakeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What a finished handshake tells the log: Exim's <c>X=</c> and <c>CV=</c>.</summary>
internal sealed record TlsSessionFacts(string Summary, bool Verified);

/// <summary>
/// The client's TLS handshake over an open <see cref="Connection"/> (after STARTTLS's 220, or at once
/// on a TLS-on-connect port). The certificate is always checked against the host name (the MX or
/// smarthost name, which is also sent as SNI) and the trusted roots; the result only decides the
/// handshake for hosts in <c>hosts-verify-tls</c>, and is logged as <c>CV=</c> for the others.
/// </summary>
internal static class ClientTls
{
    public static async Task<TlsSessionFacts> HandshakeAsync(Connection connection, NextHop hop, OutboundTlsSettings settings,
        bool mustVerify, TimeSpan timeout, CancellationToken ct)
    {
        var verified = false;
        string? why = null;
        var options = new SslClientAuthenticationOptions
        {
            // SNI and the name check use the host name; an address literal has no name to send.
            TargetHost = IPAddress.TryParse(hop.HostName, out _) ? hop.Address.ToString() : hop.HostName,
            EnabledSslProtocols = settings.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                verified = certificate is not null && errors == SslPolicyErrors.None;
                why = verified ? null : Describe(errors);
                return verified || !mustVerify;
            },
        };
        if (settings.TrustedRoots is { } roots)
        {
            options.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            options.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }

        var ssl = new SslStream(connection.Stream, leaveInnerStreamOpen: true);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await ssl.AuthenticateAsClientAsync(options, limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            var reason = mustVerify && why is not null
                ? $"certificate verification failed for {hop.HostName}: {why}"
                : e is OperationCanceledException ? "timed out" : Innermost(e);
            throw new TlsHandshakeException($"TLS session: handshake failed with {hop}: {reason}", e);
        }
        connection.ReplaceStream(ssl);
        // One X= spelling for both directions: the server's <= lines use the same record.
        return new TlsSessionFacts(new TlsSessionInfo(ssl.SslProtocol, ssl.NegotiatedCipherSuite).EximCipherField, verified);
    }

    private static string Describe(SslPolicyErrors errors)
    {
        var parts = new List<string>();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable)) parts.Add("no certificate");
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)) parts.Add("the certificate does not name the host");
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)) parts.Add("the certificate does not chain to a trusted root");
        return string.Join(", ", parts);
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }
}
