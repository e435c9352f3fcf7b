using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Unicode;

namespace ActorMta.Smtp;

/// <summary>
/// Turns one command line into a <see cref="SmtpCommand"/> or a syntax-error reply. Works on the
/// octets as received; strings are made only for values the command keeps.
/// </summary>
public static class CommandParser
{
    // C0 controls except HTAB. CR and LF are in here too: the framer has removed the terminator, so
    // one left in the line is a bare CR or a stray LF that must not reach a handler.
    private static readonly SearchValues<byte> ControlBytes = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);

    // Argument-less commands are immutable values: share one of each.
    private static readonly DataCommand Data = new();
    private static readonly RsetCommand Rset = new();
    private static readonly NoopCommand Noop = new();
    private static readonly QuitCommand Quit = new();
    private static readonly StartTlsCommand StartTls = new();
    private static readonly HelpCommand Help = new((string?)null);

    /// <summary>
    /// U+0080-U+009F in valid UTF-8 (0xC2 then 0x80-0x9F): control characters too, which an
    /// SMTPUTF8 address would otherwise carry into log lines (CSI, U+009B, starts a terminal
    /// escape sequence as ESC [ does).
    /// </summary>
    private static bool HasC1Control(ReadOnlySpan<byte> line)
    {
        for (int at = line.IndexOf((byte)0xC2); at >= 0 && at + 1 < line.Length; )
        {
            if (line[at + 1] is >= 0x80 and <= 0x9F) return true;
            int next = line[(at + 1)..].IndexOf((byte)0xC2);
            at = next < 0 ? -1 : at + 1 + next;
        }
        return false;
    }

    /// <summary>
    /// Parses one command line given WITHOUT its CRLF (or LF). Verbs and keywords are
    /// case-insensitive. An unknown verb is an <see cref="UnknownCommand"/>, not an error.
    /// </summary>
    public static ParseResult Parse(ReadOnlySpan<byte> line)
    {
        if (line.ContainsAny(ControlBytes) || (!Ascii.IsValid(line) && (!Utf8.IsValid(line) || HasC1Control(line))))
        {
            return ParseResult.Fail(CommandErrors.NotText);
        }

        // Trailing blanks are common ("DATA ") and mean nothing.
        line = line.TrimEnd(" \t"u8);
        if (line.IsEmpty)
        {
            return ParseResult.Fail(CommandErrors.EmptyLine);
        }

        int sp = line.IndexOf((byte)' ');
        ReadOnlySpan<byte> verb = sp < 0 ? line : line[..sp];
        ReadOnlySpan<byte> args = sp < 0 ? [] : line[(sp + 1)..];
        if (verb.IsEmpty)
        {
            return ParseResult.Fail(CommandErrors.EmptyLine);
        }

        return Identify(verb) switch
        {
            SmtpVerb.Mail => ParseMail(args),
            SmtpVerb.Rcpt => ParseRcpt(args),
            SmtpVerb.Bdat => ParseBdat(args),
            SmtpVerb.Data => NoArguments(args, Data),
            SmtpVerb.Rset => NoArguments(args, Rset),
            SmtpVerb.Quit => NoArguments(args, Quit),
            SmtpVerb.StartTls => NoArguments(args, StartTls),
            SmtpVerb.Noop => ParseResult.Ok(Noop), // RFC 5321 4.1.1.9: a NOOP argument is ignored.
            SmtpVerb.Ehlo => ParseHelo(args, ehlo: true),
            SmtpVerb.Helo => ParseHelo(args, ehlo: false),
            SmtpVerb.Auth => ParseAuth(args),
            SmtpVerb.Vrfy => ParseArgument(args, static a => new VrfyCommand(a)),
            SmtpVerb.Expn => ParseArgument(args, static a => new ExpnCommand(a)),
            SmtpVerb.Help => ParseHelp(args),
            _ => ParseResult.Ok(new UnknownCommand(Encoding.UTF8.GetString(verb))),
        };
    }

    private static SmtpVerb Identify(ReadOnlySpan<byte> verb) => verb.Length switch
    {
        4 when Ascii.EqualsIgnoreCase(verb, "MAIL"u8) => SmtpVerb.Mail,
        4 when Ascii.EqualsIgnoreCase(verb, "RCPT"u8) => SmtpVerb.Rcpt,
        4 when Ascii.EqualsIgnoreCase(verb, "DATA"u8) => SmtpVerb.Data,
        4 when Ascii.EqualsIgnoreCase(verb, "BDAT"u8) => SmtpVerb.Bdat,
        4 when Ascii.EqualsIgnoreCase(verb, "EHLO"u8) => SmtpVerb.Ehlo,
        4 when Ascii.EqualsIgnoreCase(verb, "HELO"u8) => SmtpVerb.Helo,
        4 when Ascii.EqualsIgnoreCase(verb, "RSET"u8) => SmtpVerb.Rset,
        4 when Ascii.EqualsIgnoreCase(verb, "NOOP"u8) => SmtpVerb.Noop,
        4 when Ascii.EqualsIgnoreCase(verb, "QUIT"u8) => SmtpVerb.Quit,
        4 when Ascii.EqualsIgnoreCase(verb, "VRFY"u8) => SmtpVerb.Vrfy,
        4 when Ascii.EqualsIgnoreCase(verb, "EXPN"u8) => SmtpVerb.Expn,
        4 when Ascii.EqualsIgnoreCase(verb, "HELP"u8) => SmtpVerb.Help,
        4 when Ascii.EqualsIgnoreCase(verb, "AUTH"u8) => SmtpVerb.Auth,
        8 when Ascii.EqualsIgnoreCase(verb, "STARTTLS"u8) => SmtpVerb.StartTls,
        _ => SmtpVerb.Unknown,
    };

    private static ParseResult NoArguments(ReadOnlySpan<byte> args, SmtpCommand command) =>
        args.Trim((byte)' ').IsEmpty ? ParseResult.Ok(command) : ParseResult.Fail(CommandErrors.NoArgumentsAllowed);

    // "MAIL FROM:" [SP] Reverse-path [SP Mail-parameters]. The space before '<' is not in RFC 5321
    // but many clients send it, and every major MTA accepts it.
    private static ParseResult ParseMail(ReadOnlySpan<byte> args)
    {
        if (!TryStripKeyword(args, "FROM:"u8, out ReadOnlySpan<byte> rest))
        {
            return ParseResult.Fail(CommandErrors.MailSyntax);
        }

        if (!PathParser.TryParse(rest, reversePath: true, out Mailbox? from, out int used))
        {
            return ParseResult.Fail(CommandErrors.BadAddress);
        }

        rest = rest[used..];
        if (!rest.IsEmpty && rest[0] != (byte)' ')
        {
            return ParseResult.Fail(CommandErrors.TrailingGarbage);
        }

        return MailParameterParser.TryParse(rest, out MailParameters parameters) is { } error
            ? ParseResult.Fail(error)
            : ParseResult.Ok(new MailCommand(from, parameters));
    }

    private static ParseResult ParseRcpt(ReadOnlySpan<byte> args)
    {
        if (!TryStripKeyword(args, "TO:"u8, out ReadOnlySpan<byte> rest))
        {
            return ParseResult.Fail(CommandErrors.RcptSyntax);
        }

        if (!PathParser.TryParse(rest, reversePath: false, out Mailbox? to, out int used) || to is null)
        {
            return ParseResult.Fail(CommandErrors.BadAddress);
        }

        rest = rest[used..];
        if (!rest.IsEmpty && rest[0] != (byte)' ')
        {
            return ParseResult.Fail(CommandErrors.TrailingGarbage);
        }

        return RcptParameterParser.TryParse(rest, out RcptParameters parameters) is { } error
            ? ParseResult.Fail(error)
            : ParseResult.Ok(new RcptCommand(to, parameters));
    }

    /// <summary>Matches "FROM:" / "TO:" case-insensitively and skips the spaces after the colon.</summary>
    private static bool TryStripKeyword(ReadOnlySpan<byte> args, ReadOnlySpan<byte> keyword, out ReadOnlySpan<byte> rest)
    {
        rest = default;
        args = args.TrimStart((byte)' ');
        if (args.Length < keyword.Length || !Ascii.EqualsIgnoreCase(args[..keyword.Length], keyword))
        {
            return false;
        }

        rest = args[keyword.Length..].TrimStart((byte)' ');
        return true;
    }

    // "BDAT" SP chunk-size [SP "LAST"] (RFC 3030 2). A bad size must not be guessed at: the session
    // would lose track of where the chunk ends.
    private static ParseResult ParseBdat(ReadOnlySpan<byte> args)
    {
        args = args.Trim((byte)' ');
        int sp = args.IndexOf((byte)' ');
        ReadOnlySpan<byte> size = sp < 0 ? args : args[..sp];
        ReadOnlySpan<byte> tail = sp < 0 ? [] : args[(sp + 1)..].TrimStart((byte)' ');

        if (size.IsEmpty || size.Length > 18 || size.ContainsAnyExceptInRange((byte)'0', (byte)'9')
            || !Utf8Parser.TryParse(size, out long value, out int used) || used != size.Length)
        {
            return ParseResult.Fail(CommandErrors.BdatSyntax);
        }

        if (tail.IsEmpty)
        {
            return ParseResult.Ok(new BdatCommand(value, Last: false));
        }

        return Ascii.EqualsIgnoreCase(tail, "LAST"u8)
            ? ParseResult.Ok(new BdatCommand(value, Last: true))
            : ParseResult.Fail(CommandErrors.BdatSyntax);
    }

    private static ParseResult ParseHelo(ReadOnlySpan<byte> args, bool ehlo)
    {
        ReadOnlySpan<byte> domain = args.Trim((byte)' ');

        // A trailing dot (an absolute name) is harmless in a HELO name, so it is accepted and kept.
        ReadOnlySpan<byte> name = domain.Length > 1 && domain[^1] == (byte)'.' ? domain[..^1] : domain;
        bool valid = domain.Length > 0 && domain[0] == (byte)'['
            ? DomainSyntax.IsAddressLiteral(domain)
            : DomainSyntax.IsDomain(name, allowUnderscore: true);
        if (!valid)
        {
            return ParseResult.Fail(CommandErrors.HeloSyntax);
        }

        string text = Encoding.UTF8.GetString(domain);
        return ParseResult.Ok(ehlo ? new EhloCommand(text) : new HeloCommand(text));
    }

    // "AUTH" SP sasl-mech [SP initial-response] (RFC 4954 4); sasl-mech = 1*20 of A-Z 0-9 - _.
    private static ParseResult ParseAuth(ReadOnlySpan<byte> args)
    {
        args = args.Trim((byte)' ');
        int sp = args.IndexOf((byte)' ');
        ReadOnlySpan<byte> mechanism = sp < 0 ? args : args[..sp];
        ReadOnlySpan<byte> response = sp < 0 ? [] : args[(sp + 1)..].TrimStart((byte)' ');

        if (mechanism.IsEmpty || mechanism.Length > 20 || response.Contains((byte)' '))
        {
            return ParseResult.Fail(CommandErrors.AuthSyntax);
        }

        foreach (byte b in mechanism)
        {
            if (!char.IsAsciiLetterOrDigit((char)b) && b != (byte)'-' && b != (byte)'_')
            {
                return ParseResult.Fail(CommandErrors.AuthSyntax);
            }
        }

        string name = Encoding.ASCII.GetString(mechanism).ToUpperInvariant();
        string? initial = response.IsEmpty ? null : Encoding.UTF8.GetString(response);
        return ParseResult.Ok(new AuthCommand(name, initial));
    }

    private static ParseResult ParseArgument(ReadOnlySpan<byte> args, Func<string, SmtpCommand> create)
    {
        args = args.Trim(" \t"u8);
        return args.IsEmpty
            ? ParseResult.Fail(CommandErrors.ArgumentRequired)
            : ParseResult.Ok(create(Encoding.UTF8.GetString(args)));
    }

    private static ParseResult ParseHelp(ReadOnlySpan<byte> args)
    {
        args = args.Trim(" \t"u8);
        return args.IsEmpty ? ParseResult.Ok(Help) : ParseResult.Ok(new HelpCommand(Encoding.UTF8.GetString(args)));
    }
}
