namespace ActorMta.Smtp;

/// <summary>
/// What a server's EHLO reply offers, as the client needs it. Keywords are matched
/// case-insensitively (RFC 5321 section 2.4); every spelling early pipelining ever had is
/// recognised (spec Part A rule 7): PIPECONNECT, PIPE_CONNECT and X_PIPE_CONNECT.
/// </summary>
public sealed record EhloResponse(
    bool Pipelining,
    bool PipeConnect,
    bool Chunking,
    bool StartTls,
    bool SmtpUtf8,
    bool EightBitMime,
    bool Dsn,
    bool EnhancedStatusCodes,
    bool Prdr,
    long? Size,
    IReadOnlyList<string> AuthMechanisms,
    int LimitMail,
    int LimitRcpt,
    int LimitRcptDomain)
{
    public static readonly EhloResponse None = new(false, false, false, false, false, false, false, false, false, null, [], 0, 0, 0);

    /// <summary>Parses the lines of a 250 EHLO reply (the first line is the greeting and is skipped).</summary>
    public static EhloResponse Parse(SmtpReply reply)
    {
        var result = None with { AuthMechanisms = [] };
        var auth = new List<string>();
        for (var i = 1; i < reply.Lines.Count; i++)
        {
            var line = reply.Lines[i].Trim();
            var space = line.IndexOf(' ');
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var argument = space < 0 ? "" : line[(space + 1)..].Trim();
            switch (keyword)
            {
                case "PIPELINING": result = result with { Pipelining = true }; break;
                case "PIPECONNECT" or "PIPE_CONNECT" or "X_PIPE_CONNECT": result = result with { PipeConnect = true }; break;
                case "CHUNKING": result = result with { Chunking = true }; break;
                case "STARTTLS": result = result with { StartTls = true }; break;
                case "SMTPUTF8": result = result with { SmtpUtf8 = true }; break;
                case "8BITMIME": result = result with { EightBitMime = true }; break;
                case "DSN": result = result with { Dsn = true }; break;
                case "ENHANCEDSTATUSCODES": result = result with { EnhancedStatusCodes = true }; break;
                case "PRDR": result = result with { Prdr = true }; break;
                case "SIZE":
                    result = result with { Size = long.TryParse(argument, out var size) && size > 0 ? size : 0 };
                    break;
                case "AUTH":
                    foreach (var mechanism in argument.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        if (!auth.Contains(mechanism.ToUpperInvariant())) auth.Add(mechanism.ToUpperInvariant());
                    break;
                case "LIMITS":
                    result = ParseLimits(result, argument);
                    break;
            }
        }
        return result with { AuthMechanisms = auth };
    }

    /// <summary>RFC 9422: "LIMITS MAILMAX=10 RCPTMAX=100 RCPTDOMAINMAX=1".</summary>
    private static EhloResponse ParseLimits(EhloResponse result, string argument)
    {
        foreach (var item in argument.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=');
            if (eq <= 0 || !int.TryParse(item[(eq + 1)..], out var value) || value <= 0) continue;
            switch (item[..eq].ToUpperInvariant())
            {
                case "MAILMAX": result = result with { LimitMail = value }; break;
                case "RCPTMAX": result = result with { LimitRcpt = value }; break;
                case "RCPTDOMAINMAX": result = result with { LimitRcptDomain = value }; break;
            }
        }
        return result;
    }
}
