using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Routing;
using ActorMta.Transport;

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
        return new TlsSessionFacts(Summary(ssl), verified);
    }

    /// <summary>Exim's <c>X=</c> form: <c>TLS1.3:TLS_AES_256_GCM_SHA384:256</c>.</summary>
    internal static string Summary(SslStream ssl)
    {
        var protocol = ssl.SslProtocol switch
        {
            SslProtocols.Tls13 => "TLS1.3",
            SslProtocols.Tls12 => "TLS1.2",
            var other => other.ToString(),
        };
        var suite = ssl.NegotiatedCipherSuite.ToString();
        return $"{protocol}:{suite}:{KeyBits(suite)}";
    }

    /// <summary>The bulk cipher's key size, read from the suite's name (SslStream's CipherStrength is obsolete).</summary>
    internal static int KeyBits(string suite) =>
        suite.Contains("AES_256", StringComparison.Ordinal) || suite.Contains("CHACHA20", StringComparison.Ordinal) ? 256
        : suite.Contains("AES_128", StringComparison.Ordinal) ? 128
        : suite.Contains("3DES", StringComparison.Ordinal) ? 168
        : 0;

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
