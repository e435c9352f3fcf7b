using System.Net;

namespace ActorMta.Auth;

/// <summary>
/// Failed AUTH attempts per client IP address, node-wide (all listeners, all sessions): after
/// <c>maxFailures</c> failures within <c>window</c> the address is refused AUTH until the oldest
/// of them leaves the window. Memory is bounded: at most <c>maxTracked</c> addresses are
/// remembered; when full, expired entries go first, then the address whose last failure is oldest.
/// </summary>
public sealed class AuthFailureLimiter
{
    private readonly object _gate = new();
    private readonly Dictionary<IPAddress, Queue<DateTime>> _failures = new();
    private readonly int _maxFailures;
    private readonly TimeSpan _window;
    private readonly int _maxTracked;
    private readonly Func<DateTime> _now;

    public AuthFailureLimiter(int maxFailures, TimeSpan window, int maxTracked, Func<DateTime>? now = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFailures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTracked, 1);
        _maxFailures = maxFailures;
        _window = window;
        _maxTracked = maxTracked;
        _now = now ?? (() => DateTime.UtcNow);
    }

    /// <summary>How many addresses are remembered now (for tests and the bound).</summary>
    public int TrackedCount
    {
        get { lock (_gate) return _failures.Count; }
    }

    /// <summary>True when <paramref name="client"/> has used up its failures for now.</summary>
    public bool IsBlocked(IPAddress client)
    {
        lock (_gate)
        {
            if (!_failures.TryGetValue(client, out var times)) return false;
            Expire(times, _now());
            if (times.Count == 0) _failures.Remove(client);
            return times.Count >= _maxFailures;
        }
    }

    /// <summary>Counts one failure; true when this one used up the allowance.</summary>
    public bool RecordFailure(IPAddress client)
    {
        lock (_gate)
        {
            var now = _now();
            if (!_failures.TryGetValue(client, out var times))
            {
                if (_failures.Count >= _maxTracked) MakeRoom(now);
                times = new Queue<DateTime>();
                _failures[client] = times;
            }

            Expire(times, now);
            times.Enqueue(now);
            // Only the last maxFailures matter for the decision: keep the per-address memory bounded too.
            while (times.Count > _maxFailures) times.Dequeue();
            return times.Count >= _maxFailures;
        }
    }

    private void Expire(Queue<DateTime> times, DateTime now)
    {
        while (times.Count > 0 && now - times.Peek() >= _window) times.Dequeue();
    }

    private void MakeRoom(DateTime now)
    {
        foreach (var (address, times) in _failures.ToList())
        {
            Expire(times, now);
            if (times.Count == 0) _failures.Remove(address);
        }

        if (_failures.Count < _maxTracked) return;
        var oldest = _failures.MinBy(e => e.Value.Last()).Key;
        _failures.Remove(oldest);
    }
}
