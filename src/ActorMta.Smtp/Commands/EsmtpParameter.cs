namespace ActorMta.Smtp;

/// <summary>
/// One "keyword[=value]" of MAIL or RCPT (RFC 5321 4.1.2 esmtp-param), as slices of the line.
/// Reading them is separate from understanding them, so MAIL and RCPT share the tokenizer.
/// </summary>
internal readonly ref struct EsmtpParameter(ReadOnlySpan<byte> keyword, ReadOnlySpan<byte> value, bool hasValue)
{
    public ReadOnlySpan<byte> Keyword { get; } = keyword;

    public ReadOnlySpan<byte> Value { get; } = value;

    public bool HasValue { get; } = hasValue;

    /// <summary>
    /// Reads the next parameter from <paramref name="rest"/> (the text after the path, spaces between).
    /// Returns null on success. A token that is not a keyword at all is trailing garbage (501); a keyword
    /// whose value has characters esmtp-value forbids, or no characters, is a bad parameter (555).
    /// </summary>
    public static SmtpReply? TryRead(ref ReadOnlySpan<byte> rest, out EsmtpParameter parameter)
    {
        parameter = default;
        rest = rest.TrimStart((byte)' ');
        int end = rest.IndexOf((byte)' ');
        ReadOnlySpan<byte> token = end < 0 ? rest : rest[..end];
        rest = end < 0 ? [] : rest[end..];

        int eq = token.IndexOf((byte)'=');
        ReadOnlySpan<byte> keyword = eq < 0 ? token : token[..eq];

        // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
        if (keyword.IsEmpty || keyword[0] == (byte)'-')
        {
            return CommandErrors.TrailingGarbage;
        }

        foreach (byte b in keyword)
        {
            if (!char.IsAsciiLetterOrDigit((char)b) && b != (byte)'-')
            {
                return CommandErrors.TrailingGarbage;
            }
        }

        if (eq < 0)
        {
            parameter = new EsmtpParameter(keyword, [], hasValue: false);
            return null;
        }

        // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 under RFC 6531. Tabs and controls are out.
        ReadOnlySpan<byte> value = token[(eq + 1)..];
        if (value.IsEmpty)
        {
            return CommandErrors.BadParameterValue;
        }

        foreach (byte b in value)
        {
            if (b is < 33 or (byte)'=' or 127)
            {
                return CommandErrors.BadParameterValue;
            }
        }

        parameter = new EsmtpParameter(keyword, value, hasValue: true);
        return null;
    }
}
