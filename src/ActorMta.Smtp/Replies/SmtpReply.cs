using System.Buffers;
using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// An SMTP reply (RFC 5321 4.2) with an optional enhanced status code (RFC 2034, RFC 3463) that is
/// repeated on every line. A reply is immutable and encodes itself to bytes once, so replies kept in
/// static fields cost nothing but a copy each time they are sent.
/// </summary>
public sealed class SmtpReply
{
    private static readonly SearchValues<char> LineBreaks = SearchValues.Create("\r\n");

    private readonly string[] _lines;
    private byte[]? _encoded;

    public SmtpReply(int code, string? enhanced, params string[] lines)
    {
        if (code is < 200 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "An SMTP reply code is 2xx to 5xx.");
        }

        if (enhanced is not null && !EnhancedStatusCode.IsValid(enhanced, code))
        {
            throw new ArgumentException($"'{enhanced}' is not an enhanced status code of class {code / 100}.", nameof(enhanced));
        }

        ArgumentNullException.ThrowIfNull(lines);
        foreach (string line in lines)
        {
            ArgumentNullException.ThrowIfNull(line, nameof(lines));

            // A CR or LF in the text would let whoever supplied it inject a reply of their own.
            if (line.AsSpan().ContainsAny(LineBreaks))
            {
                throw new ArgumentException("Reply text must not contain CR or LF.", nameof(lines));
            }
        }

        Code = code;
        Enhanced = enhanced;
        _lines = lines.Length == 0 ? [string.Empty] : (string[])lines.Clone();
    }

    public int Code { get; }

    public string? Enhanced { get; }

    public IReadOnlyList<string> Lines => _lines;

    public bool IsPositive => Code < 400;

    public bool IsTransient => Code is >= 400 and < 500;

    public bool IsPermanent => Code >= 500;

    /// <summary>The reply on the wire, every line ending in CRLF. Encoded on first use, then shared.</summary>
    public ReadOnlyMemory<byte> Encoded => _encoded ??= Encode();

    public void WriteTo(IBufferWriter<byte> output)
    {
        ReadOnlySpan<byte> bytes = Encoded.Span;
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    /// <summary>Copies the encoded reply into <paramref name="output"/>; returns the bytes written.</summary>
    /// <exception cref="ArgumentException">The span is too small.</exception>
    public int WriteTo(Span<byte> output)
    {
        ReadOnlySpan<byte> bytes = Encoded.Span;
        if (!bytes.TryCopyTo(output))
        {
            throw new ArgumentException($"The reply needs {bytes.Length} bytes.", nameof(output));
        }

        return bytes.Length;
    }

    /// <summary>One line for logs: "550 5.7.1 Relay not permitted", several lines joined by " / ".</summary>
    public override string ToString()
    {
        string text = string.Join(" / ", _lines);
        string prefix = Enhanced is null ? $"{Code}" : $"{Code} {Enhanced}";
        return text.Length == 0 ? prefix : $"{prefix} {text}";
    }

    private byte[] Encode()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < _lines.Length; i++)
        {
            bool last = i == _lines.Length - 1;
            sb.Append(Code);
            string line = _lines[i];

            // "250-" on continuation lines even when empty; the last line may be just the code.
            if (!last || Enhanced is not null || line.Length > 0)
            {
                sb.Append(last ? ' ' : '-');
            }

            if (Enhanced is not null)
            {
                sb.Append(Enhanced);
                if (line.Length > 0)
                {
                    sb.Append(' ');
                }
            }

            sb.Append(line).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
