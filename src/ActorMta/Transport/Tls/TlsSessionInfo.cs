using System.Net.Security;
using System.Security.Authentication;

namespace ActorMta.Transport.Tls;

/// <summary>What a finished handshake agreed on, in the forms the logs and the Received: header use.</summary>
public sealed record TlsSessionInfo(SslProtocols Protocol, TlsCipherSuite CipherSuite)
{
    /// <summary><c>TLS1.3</c>, <c>TLS1.2</c>: Exim's spelling of the version.</summary>
    public string ProtocolName => Protocol switch
    {
        SslProtocols.Tls13 => "TLS1.3",
        SslProtocols.Tls12 => "TLS1.2",
        _ => Protocol.ToString().ToUpperInvariant(),
    };

    /// <summary>
    /// Exim's <c>X=</c> value: version, IANA cipher-suite name and the symmetric key size in bits,
    /// e.g. <c>TLS1.3:TLS_AES_256_GCM_SHA384:256</c>. The size comes from the suite's name because
    /// SslStream's CipherStrength is obsolete and was never reliable on Linux.
    /// </summary>
    public string EximCipherField => $"{ProtocolName}:{CipherSuite}:{KeyBits(CipherSuite.ToString())}";

    private static int KeyBits(string suite) =>
        suite.Contains("_256_", StringComparison.Ordinal) || suite.Contains("CHACHA20", StringComparison.Ordinal) ? 256
        : suite.Contains("_128_", StringComparison.Ordinal) ? 128
        : suite.Contains("3DES", StringComparison.Ordinal) ? 168
        : 0;
}
