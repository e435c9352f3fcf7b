using System.Buffers.Text;

namespace ActorMta.Smtp;

/// <summary>What a client line in a SASL exchange (RFC 4954 section 4) turned out to be.</summary>
public enum SaslResponseKind
{
    /// <summary>Base64 data, decoded into <see cref="SaslResponse.Data"/> (possibly empty).</summary>
    Data,

    /// <summary>A single <c>*</c>: the client cancels the exchange (the server answers 501).</summary>
    Cancel,

    /// <summary>Not valid base64 (the server answers 501).</summary>
    Malformed,
}

/// <summary>
/// One decoded SASL response: an initial response on the AUTH line, or a line sent after a 334
/// challenge. RFC 4954: <c>=</c> is an initial response of zero length; <c>*</c> cancels.
/// </summary>
public readonly record struct SaslResponse(SaslResponseKind Kind, byte[] Data)
{
    private static readonly SaslResponse CancelValue = new(SaslResponseKind.Cancel, []);
    private static readonly SaslResponse MalformedValue = new(SaslResponseKind.Malformed, []);

    /// <summary>The response carried on the AUTH command itself, where <c>=</c> stands for "present but empty".</summary>
    public static SaslResponse ParseInitial(string text) =>
        text == "=" ? new SaslResponse(SaslResponseKind.Data, []) : ParseLine(text);

    /// <summary>A line sent after a 334 challenge: base64 (an empty line is an empty response) or <c>*</c>.</summary>
    public static SaslResponse ParseLine(ReadOnlySpan<char> text)
    {
        if (text is "*") return CancelValue;
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        // Convert is strict about the alphabet and padding; whitespace inside is not allowed in SMTP.
        if (text.ContainsAny(' ', '\t') || !Convert.TryFromBase64Chars(text, bytes, out int written))
        {
            return MalformedValue;
        }

        return new SaslResponse(SaslResponseKind.Data, bytes[..written]);
    }
}
