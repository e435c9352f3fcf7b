using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// The LOGIN mechanism (draft-murchison-sasl-login): the server prompts "Username:" then
/// "Password:" (base64 in 334 replies) and the client answers each with its base64 value.
/// It is not standardised, but Outlook and many devices only speak LOGIN.
/// </summary>
public static class SaslLogin
{
    /// <summary>334 text asking for the user name: base64 of "Username:".</summary>
    public const string UserPrompt = "VXNlcm5hbWU6";

    /// <summary>334 text asking for the password: base64 of "Password:".</summary>
    public const string PasswordPrompt = "UGFzc3dvcmQ6";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Encode(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value));

    /// <summary>A decoded user name or password: non-empty UTF-8 without NUL.</summary>
    public static bool TryDecodeText(ReadOnlySpan<byte> value, out string text)
    {
        text = "";
        if (value.IsEmpty || value.Contains((byte)0)) return false;
        try
        {
            text = StrictUtf8.GetString(value);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
