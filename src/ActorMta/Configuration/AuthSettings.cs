using ActorMta.Smtp;

namespace ActorMta.Configuration;

/// <summary>
/// <c>actormta.auth</c>: SMTP AUTH (RFC 4954) on the server side. Offered only under TLS unless
/// <see cref="AllowCleartext"/>; on submission listeners it is required before MAIL.
/// </summary>
/// <param name="Mechanisms">SASL mechanisms offered, in order (PLAIN and LOGIN are implemented).</param>
/// <param name="AdvertiseHosts">Clients AUTH is offered to (Exim's <c>auth_advertise_hosts</c>).</param>
/// <param name="AllowCleartext">Offer and accept AUTH on connections without TLS (passwords then cross the network in clear).</param>
/// <param name="UsersFile">The users file (<c>name:$pbkdf2-sha256$...</c> lines); re-read when it changes.</param>
/// <param name="PasswordIterations">PBKDF2 iterations for hashes that <c>actormta user add</c> writes.</param>
/// <param name="MaxFailures">Failed attempts from one IP address within <see cref="FailureWindow"/> before AUTH is refused to it.</param>
/// <param name="FailureWindow">How long a failure counts against its IP address.</param>
/// <param name="FailureDelay">Pause before the 535 reply to a wrong password (slows guessing on one connection).</param>
/// <param name="MaxTrackedClients">How many IP addresses the failure counter remembers at most (bounded memory).</param>
public sealed record AuthSettings(
    IReadOnlyList<string> Mechanisms,
    HostList AdvertiseHosts,
    bool AllowCleartext,
    string UsersFile,
    int PasswordIterations,
    int MaxFailures,
    TimeSpan FailureWindow,
    TimeSpan FailureDelay,
    int MaxTrackedClients)
{
    /// <summary>The mechanisms this server implements.</summary>
    public static readonly IReadOnlyList<string> Supported = ["PLAIN", "LOGIN"];

    /// <summary>The embedded defaults, with the users file under <paramref name="dataDirectory"/>.</summary>
    public static AuthSettings Default(string dataDirectory) => new(
        Mechanisms: Supported,
        AdvertiseHosts: HostList.Parse(["*"]),
        AllowCleartext: false,
        UsersFile: Path.Combine(dataDirectory, "users"),
        PasswordIterations: Auth.PasswordHash.DefaultIterations,
        MaxFailures: 5,
        FailureWindow: TimeSpan.FromMinutes(10),
        FailureDelay: TimeSpan.FromSeconds(1),
        MaxTrackedClients: 10_000);
}
