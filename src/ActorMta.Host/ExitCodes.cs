namespace ActorMta.Host;

/// <summary>Process exit codes of <c>actormta</c>.</summary>
public static class ExitCodes
{
    /// <summary>Done, or stopped cleanly by SIGINT/SIGTERM.</summary>
    public const int Ok = 0;

    /// <summary>A failure at run time, such as a listen address already in use.</summary>
    public const int RuntimeFailure = 1;

    /// <summary>Bad command line or bad configuration; nothing was started.</summary>
    public const int BadUsage = 2;
}
