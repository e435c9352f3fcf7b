namespace ActorMta.Transport.Tls;

/// <summary>A certificate or key file that cannot be used; the message names the file and why.</summary>
public sealed class TlsCertificateException(string message, bool keyFileAtFault, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The private-key file (not the certificate file) is the problem, for naming the right key in errors.</summary>
    public bool KeyFileAtFault { get; } = keyFileAtFault;
}
