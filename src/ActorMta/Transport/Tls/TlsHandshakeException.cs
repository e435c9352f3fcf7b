namespace ActorMta.Transport.Tls;

/// <summary>A TLS handshake failed or timed out; the message says why, for the main log.</summary>
public sealed class TlsHandshakeException(string message, Exception? inner = null) : Exception(message, inner);
