namespace ActorMta.Logging;

/// <summary>Exceptions said in one line, for operators.</summary>
public static class ExceptionText
{
    /// <summary>The message that says what went wrong: the innermost one, under the wrappers that
    /// libraries add ("Failed to initialize SQL Journal" around "unable to open database file").</summary>
    public static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }
}
