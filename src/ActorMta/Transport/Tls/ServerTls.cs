using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Metrics;

namespace ActorMta.Transport.Tls;

/// <summary>
/// The server side of TLS for one node: the certificate in use, who is offered STARTTLS, and the
/// handshake that turns a session's plain stream into an <see cref="SslStream"/> over the same
/// socket. <see cref="Reload"/> (SIGHUP) swaps the certificate for the handshakes that follow;
/// connections already encrypted keep theirs.
/// </summary>
public sealed class ServerTls
{
    private readonly TlsSettings _settings;
    private readonly string _certificatePath;
    private readonly string? _keyPath;
    // Replaced whole on reload; a handshake reads it once. The old one is not disposed: a
    // handshake that started a moment ago may still be using it.
    private volatile Loaded _current;

    private sealed record Loaded(PemCertificate Pem, SslStreamCertificateContext Context);

    private ServerTls(TlsSettings settings, string certificatePath, string? keyPath, Loaded current)
    {
        _settings = settings;
        _certificatePath = certificatePath;
        _keyPath = keyPath;
        _current = current;
    }

    public TlsSettings Settings => _settings;

    /// <summary>What start-up did about the certificate (made, reused, which one), for the main log after "daemon started".</summary>
    public IReadOnlyList<string> StartupNotes { get; private set; } = [];

    /// <summary>The certificate handshakes use now.</summary>
    public X509Certificate2 Certificate => _current.Pem.Leaf;

    /// <summary>
    /// The node's TLS, or null when nothing needs it (STARTTLS offered to nobody and no
    /// TLS-on-connect listener). Without a configured certificate a self-signed one is made (or
    /// reused) under the data directory; <see cref="StartupNotes"/> says which, for the main log.
    /// </summary>
    /// <exception cref="TlsCertificateException">The configured files cannot be used.</exception>
    public static ServerTls? Create(MtaSettings settings)
    {
        var notes = new List<string>();
        var tls = settings.Tls;
        var needed = tls.AdvertiseHosts.Items.Count > 0 || settings.Listeners.Any(l => l.Kind == ListenerKind.TlsOnConnect);
        if (!needed) return null;

        string certificatePath;
        string? keyPath;
        if (tls.CertificatePath is null)
        {
            var folder = Path.Combine(settings.DataDirectory, TlsSettings.SelfSignedFolder);
            (certificatePath, keyPath, var created) = SelfSignedCertificate.LoadOrCreate(folder, settings.PrimaryHostname);
            notes.Add(created
                ? $"TLS: no certificate configured (actormta.tls.certificate): generated a self-signed certificate for {settings.PrimaryHostname} in {certificatePath}"
                : $"TLS: no certificate configured (actormta.tls.certificate): using the self-signed certificate {certificatePath}");
        }
        else
        {
            certificatePath = tls.CertificatePath;
            keyPath = tls.PrivateKeyPath;
        }

        var server = new ServerTls(tls, certificatePath, keyPath, Load(certificatePath, keyPath));
        notes.Add($"TLS: certificate {server.Describe()}");
        server.StartupNotes = notes;
        return server;
    }

    /// <summary>STARTTLS is offered to this client (the certificate exists whenever this object does).</summary>
    public bool Advertises(IPAddress client) => _settings.AdvertiseHosts.Matches(client);

    /// <summary>
    /// Reads the certificate and key files again (SIGHUP). A file that cannot be used leaves the
    /// current certificate in place; <paramref name="message"/> says what happened either way.
    /// </summary>
    public bool Reload(out string message)
    {
        try
        {
            _current = Load(_certificatePath, _keyPath);
            message = $"TLS: certificate reloaded: {Describe()}";
            return true;
        }
        catch (TlsCertificateException e)
        {
            message = $"TLS: certificate reload failed, keeping the current one ({Describe()}): {e.Message}";
            return false;
        }
    }

    /// <summary>
    /// Runs the server handshake on <paramref name="connection"/> (whose plain stream must be
    /// drained) and makes the TLS stream the connection's stream. Counted in the metrics.
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or took longer than handshake-timeout.</exception>
    public async Task<TlsSessionInfo> HandshakeAsync(Connection connection)
    {
        var started = Stopwatch.GetTimestamp();
        var current = _current;
        var ssl = new SslStream(connection.Stream, leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = current.Context,
            EnabledSslProtocols = _settings.Protocols,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
        };
        using var timeout = new CancellationTokenSource(_settings.HandshakeTimeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(options, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or AuthenticationException or IOException or ObjectDisposedException)
        {
            MtaMetrics.TlsHandshake(TlsSide.Inbound, succeeded: false);
            await ssl.DisposeAsync().ConfigureAwait(false);
            var why = timeout.IsCancellationRequested
                ? $"handshake timed out after {_settings.HandshakeTimeout.TotalSeconds:0.#}s"
                : Describe(e);
            throw new TlsHandshakeException(why, e);
        }

        connection.ReplaceStream(ssl);
        MtaMetrics.TlsHandshake(TlsSide.Inbound, succeeded: true, started);
        return new TlsSessionInfo(ssl.SslProtocol, ssl.NegotiatedCipherSuite);
    }

    private string Describe()
    {
        var leaf = _current.Pem.Leaf;
        return $"\"{leaf.Subject}\" valid until {leaf.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z from {_certificatePath}";
    }

    /// <summary>"Authentication failed" says nothing; the inner exception has the TLS alert or the I/O error.</summary>
    private static string Describe(Exception e)
    {
        var text = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            if (!text.Contains(inner.Message, StringComparison.Ordinal)) text += ": " + inner.Message;
        // The most common failure an operator must act on (an expired or self-signed certificate), in words.
        return CertificateAlert.Find(text) is { } alert ? $"the client rejected our certificate ({alert})" : text;
    }

    private static Loaded Load(string certificatePath, string? keyPath)
    {
        var pem = PemCertificate.Load(certificatePath, keyPath);
        try
        {
            // offline: never fetch intermediates or revocation data from the network at handshake time.
            return new Loaded(pem, SslStreamCertificateContext.Create(pem.Leaf, pem.Chain, offline: true));
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or NotSupportedException or ArgumentException)
        {
            pem.Dispose();
            throw new TlsCertificateException($"\"{certificatePath}\" cannot serve TLS: {e.Message}", false, e);
        }
    }
}
