using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// The PLAIN mechanism's message (RFC 4616): <c>[authzid] NUL authcid NUL passwd</c>, UTF-8.
/// The server decodes it; the client builds it.
/// </summary>
public static class SaslPlain
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Splits a PLAIN message; false when it does not have exactly two NULs, an empty user or password, or bad UTF-8.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> message, out string authorizationId, out string user, out string password)
    {
        authorizationId = user = password = "";
        int first = message.IndexOf((byte)0);
        if (first < 0) return false;
        var rest = message[(first + 1)..];
        int second = rest.IndexOf((byte)0);
        if (second < 0) return false;
        var passwordBytes = rest[(second + 1)..];
        if (passwordBytes.Contains((byte)0) || second == 0 || passwordBytes.IsEmpty) return false;
        try
        {
            authorizationId = StrictUtf8.GetString(message[..first]);
            user = StrictUtf8.GetString(rest[..second]);
            password = StrictUtf8.GetString(passwordBytes);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        return true;
    }

    /// <summary>The client's message, base64-encoded, with an empty authorization identity (act as the user itself).</summary>
    public static string Encode(string user, string password)
    {
        byte[] userBytes = Encoding.UTF8.GetBytes(user);
        byte[] passwordBytes = Encoding.UTF8.GetBytes(password);
        var message = new byte[userBytes.Length + passwordBytes.Length + 2];
        userBytes.CopyTo(message, 1);
        passwordBytes.CopyTo(message, userBytes.Length + 2);
        return Convert.ToBase64String(message);
    }
}
