using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ActorMta.Metrics;

/// <summary>
/// Connections in use per destination, exported with bounded cardinality: at each scrape the
/// <see cref="TopN"/> destinations with the most connections are reported by name (ties broken by
/// name, so the choice is stable) and all the others are summed into one
/// <c>destination="other"</c> series. A thousand destinations therefore give at most
/// <see cref="TopN"/> + 1 series, whatever happens.
/// </summary>
/// <remarks>
/// Updates are one dictionary operation per lease (a connection being opened or handed back), not
/// per message. Entries that drop to zero are removed, so the dictionary holds only destinations
/// in use. If the exporter starts while connections are already open, a release may arrive for an
/// acquire it never saw: counts never go below zero.
/// </remarks>
public sealed class DestinationConnectionTracker
{
    /// <summary>The label value that sums every destination outside the top N.</summary>
    public const string OtherLabel = "other";

    private readonly ConcurrentDictionary<string, int> _inUse = new(StringComparer.Ordinal);
    private int _topN = 10;

    /// <summary>How many destinations are reported by name; default 10.</summary>
    public int TopN
    {
        get => Volatile.Read(ref _topN);
        set => Volatile.Write(ref _topN, Math.Max(0, value));
    }

    /// <summary>Adds <paramref name="delta"/> connections to <paramref name="destination"/>.</summary>
    public void Add(string destination, int delta)
    {
        while (true)
        {
            if (_inUse.TryGetValue(destination, out var current))
            {
                var next = Math.Max(0, current + delta);
                if (next == 0)
                {
                    if (_inUse.TryRemove(new KeyValuePair<string, int>(destination, current))) return;
                }
                else if (_inUse.TryUpdate(destination, next, current))
                {
                    return;
                }
            }
            else
            {
                if (delta <= 0 || _inUse.TryAdd(destination, delta)) return;
            }
        }
    }

    /// <summary>Connections in use for one destination (0 when unknown); for tests.</summary>
    public int InUse(string destination) => _inUse.TryGetValue(destination, out var n) ? n : 0;

    /// <summary>Forgets every destination; for tests.</summary>
    public void Clear() => _inUse.Clear();

    internal IEnumerable<Measurement<long>> Observe()
    {
        var snapshot = _inUse.ToArray();
        if (snapshot.Length == 0) return [];
        Array.Sort(snapshot, static (a, b) =>
        {
            var byCount = b.Value.CompareTo(a.Value);
            return byCount != 0 ? byCount : string.CompareOrdinal(a.Key, b.Key);
        });
        var top = Math.Min(TopN, snapshot.Length);
        var result = new List<Measurement<long>>(top + 1);
        for (var i = 0; i < top; i++)
            result.Add(new Measurement<long>(snapshot[i].Value, new KeyValuePair<string, object?>("destination", snapshot[i].Key)));
        if (snapshot.Length > top)
        {
            long rest = 0;
            for (var i = top; i < snapshot.Length; i++) rest += snapshot[i].Value;
            result.Add(new Measurement<long>(rest, new KeyValuePair<string, object?>("destination", OtherLabel)));
        }
        return result;
    }

    internal Measurement<long> ObserveActive() => new(_inUse.Count);
}
