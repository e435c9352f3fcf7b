namespace ActorMta.Destinations;

/// <summary>
/// A persisted fact about a destination. Stored through <see cref="DestinationSerializer"/> under a
/// stable manifest; renaming these types never breaks recovery, changing their JSON form does
/// (add a new manifest version instead).
/// </summary>
public interface IDestinationEvent;

/// <summary>The early-pipelining record was written or rewritten. Manifest <c>ehlo-record-v1</c>.</summary>
public sealed record RecordWritten(EarlyPipeRecord Record) : IDestinationEvent;

/// <summary>The early-pipelining record was deleted. Manifest <c>ehlo-record-deleted-v1</c>.</summary>
public sealed record RecordDeleted(string Reason, DateTimeOffset At) : IDestinationEvent;

/// <summary>The host retry state changed; <c>null</c> clears it. Manifest <c>host-retry-v1</c>.</summary>
public sealed record HostRetryChanged(HostRetry? Retry) : IDestinationEvent;

/// <summary>A TLS failure is remembered until <paramref name="Until"/>. Manifest <c>tls-clear-until-v1</c>.</summary>
public sealed record ClearTextRemembered(DateTimeOffset Until, string Reason) : IDestinationEvent;

/// <summary>The whole persisted state, saved every <see cref="Destination.SnapshotEvery"/> events.
/// Manifest <c>destination-snapshot-v1</c>.</summary>
public sealed record DestinationSnapshot(EarlyPipeRecord? Record, HostRetry? Retry)
{
    /// <summary>The remembered TLS failure's end, when one is in force.</summary>
    public DateTimeOffset? ClearTextUntil { get; init; }
}
