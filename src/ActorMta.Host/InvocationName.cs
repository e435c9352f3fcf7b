namespace ActorMta.Host;

/// <summary>
/// The program behaves as the name it was started by, as Exim and Postfix do: a link named
/// <c>sendmail</c> (at /usr/sbin/sendmail, where cron and applications look) is
/// <c>actormta sendmail</c>, and <c>mailq</c> is <c>actormta sendmail -bp</c>. Any other name is
/// <c>actormta</c> itself.
/// </summary>
internal static class InvocationName
{
    /// <summary>The verb's arguments for <paramref name="args"/> given to a program started as <paramref name="name"/> (a path or a file name).</summary>
    public static string[] Expand(string? name, string[] args) => Path.GetFileName(name) switch
    {
        "sendmail" => ["sendmail", .. args],
        "mailq" => ["sendmail", "-bp", .. args],
        _ => args,
    };

    /// <summary>argv[0] as the caller passed it (<see cref="ProcessCommandLine"/>); null where /proc is
    /// missing (the program then answers to its own name only).</summary>
    public static string? FromProc()
    {
        try
        {
            return ProcessCommandLine.Read()[0];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
