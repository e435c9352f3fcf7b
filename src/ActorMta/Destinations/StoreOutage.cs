using Akka.Event;

namespace ActorMta.Destinations;

/// <summary>
/// Whether the destination store failed lately, for the whole node: until
/// <see cref="DestinationSettings.StoreRetryInterval"/> after a failure, destinations started on
/// this node are kept in memory only (<see cref="VolatileDestination"/>). One node-wide state so
/// that an outage is found once, not by each destination after the store's recovery timeout, and
/// said in one line per outage. With one node a single <see cref="Destinations"/> parent uses it;
/// in a cluster every entity on the node shares it, from several threads.
/// </summary>
public sealed class StoreOutage(TimeSpan retryInterval, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _downUntil = DateTimeOffset.MinValue;
    private bool _said;

    /// <summary>Destinations started now are to be volatile.</summary>
    public bool IsDown
    {
        get { lock (_gate) return clock.GetUtcNow() < _downUntil; }
    }

    /// <summary>The store failed: down for the retry interval from now; the first report of an outage is logged.</summary>
    public void Failed(string reason, ILoggingAdapter log)
    {
        Metrics.MtaMetrics.DestinationStoreFailed();
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            bool alreadyDown = now < _downUntil;
            _downUntil = now + retryInterval;
            if (alreadyDown) return;
            _said = true;
        }
        // One line per outage, not Akka's stack trace per destination: the store holds hints.
        log.Warning("destination store unavailable ({0}): deliveries go on, destinations started from now on keep what " +
                    "they learn (early-pipelining records, host retry waits) in memory only; the store is tried again in {1}",
            reason, retryInterval);
    }

    /// <summary>A persisted destination recovered: once the outage is over, that is said once.</summary>
    public void Recovered(ILoggingAdapter log)
    {
        lock (_gate)
        {
            if (!_said || clock.GetUtcNow() < _downUntil) return;
            _said = false;
        }
        log.Info("destination store available again: destinations are persisted");
    }
}
