namespace ActorMta.Configuration;

/// <summary>
/// <c>actormta.control</c>: the local control endpoint that <c>actormta queue ...</c>,
/// <c>actormta destinations</c> and <c>actormta sendmail</c> talk to. A Unix domain socket any
/// local user may connect to; root and the MTA's user may do anything there, others only submit.
/// </summary>
/// <param name="Enabled">Serve the endpoint while the MTA runs.</param>
/// <param name="SocketPath">Full path of the socket (at most 107 bytes, the kernel's limit).</param>
public sealed record ControlSettings(bool Enabled, string SocketPath)
{
    /// <summary>The socket's file name in the data directory when <c>control.socket</c> is empty.</summary>
    public const string DefaultFileName = "actormta.control.socket";

    /// <summary>The kernel's limit for a socket path (sun_path is 108 bytes with the final NUL).</summary>
    public const int MaxSocketPathBytes = 107;

    /// <summary><c>control.request-timeout</c>: how long a client may take to send its request, and
    /// the MTA to write its answer's first line, before the connection is closed. A listing's rows
    /// go at the reader's pace (an operator may page through them).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>control.max-connections</c>: control connections served at once; more wait in
    /// the listen backlog until one ends. Users other than root and the MTA's hold at most three
    /// quarters of them; one more from them is answered "busy".</summary>
    public int MaxConnections { get; init; } = 16;

    /// <summary>Enabled, in the data directory.</summary>
    public static ControlSettings Default(string dataDirectory) =>
        new(true, Path.Combine(Path.GetFullPath(dataDirectory), DefaultFileName));
}
