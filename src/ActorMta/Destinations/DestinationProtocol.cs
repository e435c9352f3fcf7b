namespace ActorMta.Destinations;

/// <summary>Every message to a destination carries its key, so a shard region can route it.</summary>
public interface IDestinationMessage
{
    DestinationKey Key { get; }
}

// ---- session -> destination -------------------------------------------------------------------

/// <summary>Asks for a connection slot. Reply: <see cref="LeaseGranted"/> or <see cref="LeaseRefused"/>.
/// The sender is watched: a session that stops without <see cref="ReleaseLease"/> frees its slot.</summary>
public sealed record AcquireLease(DestinationKey Key, string SessionId) : IDestinationMessage;

public sealed record ReleaseLease(DestinationKey Key, string SessionId) : IDestinationMessage;

/// <summary>An EHLO reply as the session read it. <paramref name="Tls"/>: the reply after STARTTLS or on
/// a TLS-on-connect port. <paramref name="EarlyConnection"/>: the session talked early on this connection.</summary>
public sealed record EhloLearned(
    DestinationKey Key,
    bool Tls,
    EhloFeatures Features,
    IReadOnlyList<string> Auth,
    EhloLimits Limits,
    bool EarlyConnection) : IDestinationMessage;

/// <summary>The banner or EHLO reply of an early attempt failed (spec rule 12), or an AUTH sent early on the
/// record's word was refused as not offered: the record is deleted.</summary>
public sealed record EarlyAttemptFailed(DestinationKey Key, string Reason) : IDestinationMessage;

/// <summary>
/// A TLS handshake with an opportunistic host failed and the session fell back to clear text: the
/// destination remembers it until <paramref name="Until"/>, so the next connections skip STARTTLS.
/// </summary>
public sealed record TlsFailed(DestinationKey Key, string Reason, DateTimeOffset Until) : IDestinationMessage;

/// <summary>Connect refused, timeout, or 421 at the banner: the host enters (or stays in) its retry wait.</summary>
public sealed record HostFailed(DestinationKey Key, string Reason) : IDestinationMessage;

/// <summary>A connection got through: clears the host retry state.</summary>
public sealed record HostSucceeded(DestinationKey Key) : IDestinationMessage;

/// <summary>Reply: <see cref="DestinationState"/>.</summary>
public sealed record GetDestinationState(DestinationKey Key) : IDestinationMessage;

// ---- destination -> session -------------------------------------------------------------------

/// <summary><paramref name="Record"/> is null when there is none, or when it was too old (then it has been deleted).</summary>
public sealed record LeaseGranted(DestinationKey Key, string SessionId, EarlyPipeRecord? Record)
{
    /// <summary>Set while a recent TLS failure says: speak clear text to this host (no STARTTLS) until then.</summary>
    public DateTimeOffset? ClearTextUntil { get; init; }
}

/// <summary><paramref name="RetryAt"/> is set while the host is in its retry wait; null when the connection budget is full.</summary>
public sealed record LeaseRefused(DestinationKey Key, string SessionId, string Reason, DateTimeOffset? RetryAt);

/// <summary>Host retry state, like Exim's host retry record.</summary>
public sealed record HostRetry(DateTimeOffset FirstFailure, DateTimeOffset NextTry, int Failures, string LastError);

public sealed record DestinationState(DestinationKey Key, EarlyPipeRecord? Record, HostRetry? Retry, int LeasesInUse)
{
    /// <summary>Kept in memory only (<see cref="VolatileDestination"/>): the store was unavailable when it started.</summary>
    public bool InMemory { get; init; }

    /// <inheritdoc cref="LeaseGranted.ClearTextUntil"/>
    public DateTimeOffset? ClearTextUntil { get; init; }
}

// ---- to the parent ----------------------------------------------------------------------------

/// <summary>Sent to <c>/user/mta/destinations</c>. Reply: <c>IReadOnlyList&lt;DestinationState&gt;</c>.</summary>
public sealed record ListDestinations
{
    public static readonly ListDestinations Instance = new();
    private ListDestinations() { }
}

/// <summary>Settings of the destination actors.</summary>
/// <param name="MaxConnections">Leases a destination grants at once.</param>
/// <param name="RetryDataExpire">Age after which an early-pipelining record is ignored and deleted (Exim's <c>retry_data_expire</c>).</param>
/// <param name="PassivateAfter">Idle time (no message, no lease) after which a destination actor stops.</param>
/// <param name="HostRetryInitial">First wait after a host failure; doubles with each further failure.</param>
/// <param name="HostRetryMax">Longest wait between tries.</param>
public sealed record DestinationSettings(
    int MaxConnections,
    TimeSpan RetryDataExpire,
    TimeSpan PassivateAfter,
    TimeSpan HostRetryInitial,
    TimeSpan HostRetryMax)
{
    public static readonly DestinationSettings Default = new(
        MaxConnections: 20,
        RetryDataExpire: TimeSpan.FromDays(7),
        PassivateAfter: TimeSpan.FromMinutes(5),
        HostRetryInitial: TimeSpan.FromMinutes(1),
        HostRetryMax: TimeSpan.FromHours(1));

    /// <summary>After the store failed, destinations are kept in memory only for this long before it is tried again.</summary>
    public TimeSpan StoreRetryInterval { get; init; } = TimeSpan.FromMinutes(1);
}
