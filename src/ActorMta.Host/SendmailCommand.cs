using System.CommandLine;
using System.Text.Json.Nodes;

namespace ActorMta.Host;

/// <summary>
/// <c>actormta sendmail [-t] [-i|-oi] [-f sender] [-F name] [-N dsn] [-R ret] [-bp] [recipients...]</c>: the
/// /usr/sbin/sendmail interface, so cron and applications can submit mail. The message is read
/// from standard input; without -i a line holding a single dot ends it. It is handed to the
/// running MTA over the control socket, which spools it durably (as for SMTP) before this
/// command exits 0; the MTA then delivers it. Exit codes: 0 accepted, 1 not accepted (the MTA is
/// not running, the spool refused, too big), 2 bad options or addresses.
/// </summary>
/// <remarks>
/// Sendmail's options are parsed here, not by System.CommandLine: they bundle values
/// (<c>-fsender</c>), use multi-letter single-dash names (<c>-oi</c>, <c>-bp</c>) and callers pass
/// options sendmail has that mean nothing to us (<c>-odi</c>, <c>-oem</c>, <c>-B 8BITMIME</c>),
/// which are accepted and ignored as Exim does.
/// </remarks>
internal static class SendmailCommand
{
    public static Command Create(CommandContext c)
    {
        var command = c.NewCommand("sendmail",
            "Submit a message read from standard input, like /usr/sbin/sendmail: -t (recipients from To/Cc/Bcc), -i/-oi (dots are text), -f SENDER, -F NAME, -bp (list the queue).");
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((r, _) => RunAsync(c, r));
        return command;
    }

    /// <summary>The parsed sendmail command line.</summary>
    internal sealed record Options(bool Extract, bool IgnoreDots, string? Sender, string? FullName, bool ListQueue, IReadOnlyList<string> Recipients)
    {
        /// <summary>-N: RFC 3461 NOTIFY for every recipient ("SUCCESS,FAILURE"), or null.</summary>
        public string? Notify { get; init; }

        /// <summary>-R: RFC 3461 RET ("FULL" or "HDRS"), or null.</summary>
        public string? Ret { get; init; }
    }

    /// <summary>Parses sendmail's arguments; null after printing why they are wrong.</summary>
    internal static Options? Parse(IReadOnlyList<string> args, TextWriter error)
    {
        bool extract = false, ignoreDots = false, listQueue = false;
        string? sender = null, fullName = null, notify = null, ret = null;
        var recipients = new List<string>();
        bool optionsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (optionsEnded || !a.StartsWith('-') || a == "-")
            {
                recipients.AddRange(a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                continue;
            }
            string? Value(string flag)
            {
                if (a.Length > flag.Length) return a[flag.Length..];
                if (i + 1 < args.Count) return args[++i];
                error.WriteLine($"actormta: sendmail: {flag} needs a value");
                return null;
            }
            switch (a)
            {
                case "--": optionsEnded = true; break;
                case "-t": extract = true; break;
                case "-i" or "-oi": ignoreDots = true; break;
                case "-bp": listQueue = true; break;
                case "-bm" or "-v": break;
                case var _ when a.StartsWith("-f", StringComparison.Ordinal) || a.StartsWith("-r", StringComparison.Ordinal):
                    if ((sender = Value(a[..2])) is null) return null;
                    break;
                case var _ when a.StartsWith("-F", StringComparison.Ordinal):
                    if ((fullName = Value("-F")) is null) return null;
                    break;
                // DSN requests (RFC 3461), as sendmail and Exim take them: -N never|success,failure,delay and -R hdrs|full.
                case var _ when a.StartsWith("-N", StringComparison.Ordinal):
                    if (Value("-N") is not { } n) return null;
                    if ((notify = Smtp.DsnValues.Notify(n)) is null)
                    {
                        error.WriteLine($"actormta: sendmail: -N takes never, or a list of success, failure and delay; got \"{n}\"");
                        return null;
                    }
                    break;
                case var _ when a.StartsWith("-R", StringComparison.Ordinal):
                    if (Value("-R") is not { } r) return null;
                    if ((ret = Smtp.DsnValues.Ret(r)) is null)
                    {
                        error.WriteLine($"actormta: sendmail: -R takes hdrs or full; got \"{r}\"");
                        return null;
                    }
                    break;
                // Accepted and ignored, with their values: body type, envelope id.
                case "-B" or "-V":
                    if (Value(a) is null) return null;
                    break;
                case var _ when a.StartsWith("-B", StringComparison.Ordinal) || a.StartsWith("-V", StringComparison.Ordinal):
                    break;
                // -odi, -oem, -oQ...: delivery and error modes that do not apply; -G, -U: submission hints.
                case var _ when a.StartsWith("-o", StringComparison.Ordinal) || a is "-G" or "-U":
                    break;
                default:
                    error.WriteLine($"actormta: sendmail: unknown option {a}");
                    return null;
            }
        }
        return new Options(extract, ignoreDots, sender, fullName, listQueue, recipients) { Notify = notify, Ret = ret };
    }

    private static async Task<int> RunAsync(CommandContext c, ParseResult r)
    {
        var options = Parse(r.UnmatchedTokens, c.Error);
        if (options is null) return ExitCodes.BadUsage;
        if (options.ListQueue) return await QueueCommands.ListAsync(c, r, json: false).ConfigureAwait(false);
        if (c.Settings(r, forSubmission: true) is not { } settings) return ExitCodes.BadUsage;
        if (!options.Extract && options.Recipients.Count == 0)
        {
            await c.Error.WriteLineAsync("actormta: sendmail: no recipients (name them, or use -t to take them from the headers)").ConfigureAwait(false);
            return ExitCodes.BadUsage;
        }

        byte[]? data = await ReadMessageAsync(c.In, options.IgnoreDots, settings.Smtp.MaxMessageSize).ConfigureAwait(false);
        if (data is null)
        {
            await c.Error.WriteLineAsync($"actormta: sendmail: message too big (the limit is {settings.Smtp.MaxMessageSize} bytes, actormta.smtp.max-message-size)").ConfigureAwait(false);
            return ExitCodes.RuntimeFailure;
        }
        var request = new JsonObject
        {
            ["command"] = "submit",
            ["sender"] = options.Sender,
            ["full-name"] = options.FullName,
            ["recipients"] = new JsonArray([.. options.Recipients.Select(a => (JsonNode?)a)]),
            ["extract"] = options.Extract,
            ["notify"] = options.Notify,
            ["ret"] = options.Ret,
            ["size"] = data.Length,
        };
        var answer = await c.AskAsync(settings, request, data).ConfigureAwait(false);
        return answer.ExitCode;
    }

    /// <summary>
    /// Standard input up to its end or, without <paramref name="ignoreDots"/>, up to a line that is a
    /// single dot (not included). Null when it is longer than <paramref name="limit"/>.
    /// </summary>
    internal static async Task<byte[]?> ReadMessageAsync(Stream input, bool ignoreDots, long limit)
    {
        var output = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int lineStart = 0; // offset in output of the current line
        int n;
        while ((n = await input.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                byte b = buffer[i];
                output.WriteByte(b);
                if (b != '\n') continue;
                if (!ignoreDots && IsDotLine(output, lineStart))
                {
                    output.SetLength(lineStart);
                    return output.ToArray();
                }
                lineStart = (int)output.Length;
            }
            if (output.Length > limit) return null;
        }
        // A dot as the last line without a newline ends the input too.
        if (!ignoreDots && output.Length - lineStart is 1 or 2 && IsDotLine(output, lineStart, final: true)) output.SetLength(lineStart);
        return output.ToArray();
    }

    private static bool IsDotLine(MemoryStream output, int start, bool final = false)
    {
        var line = output.GetBuffer().AsSpan(start, (int)output.Length - start);
        return line.SequenceEqual(".\n"u8) || line.SequenceEqual(".\r\n"u8) || (final && (line.SequenceEqual("."u8) || line.SequenceEqual(".\r"u8)));
    }
}
