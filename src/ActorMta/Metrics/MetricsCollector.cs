using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace ActorMta.Metrics;

/// <summary>
/// Listens to a Meter's instruments (by default <see cref="MtaMetrics.MeterName"/>), keeps running
/// totals, and writes them in the Prometheus text exposition format 0.0.4.
/// </summary>
/// <remarks>
/// <para>
/// Mapping: Counter and ObservableCounter are <c>counter</c>s named <c>NAME_total</c>;
/// UpDownCounter, ObservableUpDownCounter, Gauge and ObservableGauge are <c>gauge</c>s;
/// Histogram is a <c>histogram</c> with <c>_bucket{le=...}</c> (cumulative, ending with
/// <c>+Inf</c>), <c>_sum</c> and <c>_count</c>, its bounds taken from the instrument's advice.
/// Instrument names are already Prometheus names with their unit (<c>actormta_..._seconds</c>);
/// anything not allowed in a name becomes <c>_</c>. Families are written sorted by name; series
/// sorted by their labels; a family with no series is left out.
/// </para>
/// <para>
/// Cardinality: an instrument never has more than <c>maxSeriesPerInstrument</c> series.
/// Measurements with a new label set beyond that go to one series labelled
/// <c>overflow="true"</c>, so a bug that puts a domain in a label cannot grow memory or the
/// scrape without bound.
/// </para>
/// <para>
/// Recording costs one lock per measurement on the instrument's own state and a scan of its
/// (few) series comparing label values by reference first; nothing allocates once a series exists.
/// Totals count from when the collector started.
/// </para>
/// </remarks>
public sealed class MetricsCollector : IDisposable
{
    /// <summary>The series cap per instrument unless told otherwise.</summary>
    public const int DefaultMaxSeriesPerInstrument = 200;

    /// <summary>The label put on the series that collects measurements beyond the cap.</summary>
    public const string OverflowLabel = "overflow";

    private static readonly double[] DefaultBounds = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener _listener;
    private readonly Func<Meter, bool> _meterFilter;
    private readonly int _maxSeries;
    private readonly object _instrumentsGate = new();
    private readonly List<InstrumentState> _instruments = [];
    private readonly object _scrapeGate = new();
    private bool _disposed;

    /// <summary>Starts listening to the ActorMta Meter.</summary>
    public MetricsCollector() : this(static m => m.Name == MtaMetrics.MeterName) { }

    /// <summary>Starts listening to every Meter <paramref name="meterFilter"/> accepts.</summary>
    public MetricsCollector(Func<Meter, bool> meterFilter, int maxSeriesPerInstrument = DefaultMaxSeriesPerInstrument)
    {
        ArgumentNullException.ThrowIfNull(meterFilter);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeriesPerInstrument, 1);
        _meterFilter = meterFilter;
        _maxSeries = maxSeriesPerInstrument;
        MtaMetrics.EnsureCreated();
        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        _listener.SetMeasurementEventCallback<long>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, v, tags, state) => ((InstrumentState)state!).Record((double)v, tags));
        _listener.Start();
    }

    /// <summary>The Prometheus text format's content type.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Collects observable instruments and returns the whole exposition.</summary>
    public string Scrape()
    {
        var sb = new StringBuilder(4096);
        using (var w = new StringWriter(sb, CultureInfo.InvariantCulture) { NewLine = "\n" })
            WriteTo(w);
        return sb.ToString();
    }

    /// <summary>Collects observable instruments and writes the exposition to <paramref name="writer"/>.</summary>
    public void WriteTo(TextWriter writer)
    {
        lock (_scrapeGate)
        {
            InstrumentState[] states;
            lock (_instrumentsGate) states = [.. _instruments];
            foreach (var s in states)
                if (s.IsObservable) s.Clear();
            if (!_disposed) _listener.RecordObservableInstruments();
            Array.Sort(states, static (a, b) => string.CompareOrdinal(a.FamilyName, b.FamilyName));
            foreach (var s in states) s.WriteTo(writer);
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_meterFilter(instrument.Meter)) return;
        var state = InstrumentState.TryCreate(instrument, _maxSeries);
        if (state is null) return;
        lock (_instrumentsGate)
        {
            // Two instruments that would be one family: keep the first; a duplicate family is invalid.
            if (_instruments.Any(s => s.FamilyName == state.FamilyName)) return;
            _instruments.Add(state);
        }
        listener.EnableMeasurementEvents(instrument, state);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is InstrumentState s)
            lock (_instrumentsGate) _instruments.Remove(s);
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        lock (_scrapeGate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _listener.Dispose();
    }

    // ------------------------------------------------------------------------------------------

    private enum Family { Counter, Gauge, Histogram }

    private sealed class InstrumentState
    {
        private readonly object _gate = new();
        private readonly Family _family;
        private readonly bool _cumulativeInput;   // the instrument reports totals (observables, Gauge), not deltas
        private readonly double[]? _bounds;
        private readonly int _maxSeries;
        private readonly string _help;
        private readonly List<Series> _series = [];
        private Series? _overflow;

        private InstrumentState(string familyName, string help, Family family, bool observable, bool cumulativeInput, double[]? bounds, int maxSeries)
        {
            FamilyName = familyName;
            _help = help;
            _family = family;
            IsObservable = observable;
            _cumulativeInput = cumulativeInput;
            _bounds = bounds;
            _maxSeries = maxSeries;
        }

        public string FamilyName { get; }
        public bool IsObservable { get; }

        public static InstrumentState? TryCreate(Instrument instrument, int maxSeries)
        {
            var type = instrument.GetType();
            if (!type.IsGenericType) return null;
            var def = type.GetGenericTypeDefinition();
            Family family;
            bool cumulative;
            if (def == typeof(Counter<>)) (family, cumulative) = (Family.Counter, false);
            else if (def == typeof(ObservableCounter<>)) (family, cumulative) = (Family.Counter, true);
            else if (def == typeof(UpDownCounter<>)) (family, cumulative) = (Family.Gauge, false);
            else if (def == typeof(ObservableUpDownCounter<>)) (family, cumulative) = (Family.Gauge, true);
            else if (def == typeof(ObservableGauge<>)) (family, cumulative) = (Family.Gauge, true);
            else if (def == typeof(Gauge<>)) (family, cumulative) = (Family.Gauge, true);
            else if (def == typeof(Histogram<>)) (family, cumulative) = (Family.Histogram, false);
            else return null;

            var name = Prometheus.MetricName(instrument.Name);
            if (family == Family.Counter && !name.EndsWith("_total", StringComparison.Ordinal)) name += "_total";
            var bounds = family == Family.Histogram ? BoundsOf(instrument) : null;
            var help = string.IsNullOrWhiteSpace(instrument.Description) ? instrument.Name : instrument.Description;
            return new InstrumentState(name, help, family, instrument.IsObservable, cumulative, bounds, maxSeries);
        }

        private static double[] BoundsOf(Instrument instrument)
        {
            IEnumerable<double>? advised = instrument switch
            {
                Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
                Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
                Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
                Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
                Histogram<short> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
                Histogram<byte> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
                Histogram<decimal> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
                _ => null,
            };
            var bounds = advised?.Where(b => !double.IsNaN(b) && !double.IsInfinity(b)).Distinct().Order().ToArray();
            return bounds is { Length: > 0 } ? bounds : DefaultBounds;
        }

        public void Clear()
        {
            lock (_gate)
            {
                _series.Clear();
                _overflow = null;
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_gate)
            {
                var series = Find(tags);
                if (_family == Family.Histogram)
                {
                    series.Count++;
                    series.Sum += value;
                    var i = 0;
                    var bounds = _bounds!;
                    while (i < bounds.Length && value > bounds[i]) i++;
                    series.Buckets![i]++;
                }
                else if (_cumulativeInput)
                {
                    // An observable reporting the same label set twice in one collection: sum them.
                    series.Value = IsObservable && series.Seen ? series.Value + value : value;
                }
                else
                {
                    series.Value += value;
                }
                series.Seen = true;
            }
        }

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var s in _series)
                if (s.Matches(tags)) return s;
            if (_series.Count >= _maxSeries)
                return _overflow ??= new Series([new KeyValuePair<string, object?>(OverflowLabel, "true")], _bounds);
            var created = new Series(tags, _bounds);
            _series.Add(created);
            return created;
        }

        public void WriteTo(TextWriter w)
        {
            lock (_gate)
            {
                if (_series.Count == 0 && _overflow is null) return;
                w.Write("# HELP ");
                w.Write(FamilyName);
                w.Write(' ');
                w.Write(Prometheus.EscapeHelp(_help));
                w.Write('\n');
                w.Write("# TYPE ");
                w.Write(FamilyName);
                w.Write(' ');
                w.Write(_family switch { Family.Counter => "counter", Family.Gauge => "gauge", _ => "histogram" });
                w.Write('\n');
                var ordered = _series.OrderBy(s => s.Labels, StringComparer.Ordinal).ToList();
                if (_overflow is not null) ordered.Add(_overflow);
                foreach (var s in ordered)
                {
                    if (_family != Family.Histogram)
                    {
                        WriteSample(w, FamilyName, s.Labels, null, s.Value);
                        continue;
                    }
                    long cumulative = 0;
                    for (var i = 0; i < _bounds!.Length; i++)
                    {
                        cumulative += s.Buckets![i];
                        WriteSample(w, FamilyName + "_bucket", s.Labels, Prometheus.Number(_bounds[i]), cumulative);
                    }
                    cumulative += s.Buckets![_bounds.Length];
                    WriteSample(w, FamilyName + "_bucket", s.Labels, "+Inf", cumulative);
                    WriteSample(w, FamilyName + "_sum", s.Labels, null, s.Sum);
                    WriteSample(w, FamilyName + "_count", s.Labels, null, s.Count);
                }
            }
        }

        private static void WriteSample(TextWriter w, string name, string labels, string? le, double value)
        {
            w.Write(name);
            if (labels.Length > 0 || le is not null)
            {
                w.Write('{');
                w.Write(labels);
                if (le is not null)
                {
                    if (labels.Length > 0) w.Write(',');
                    w.Write("le=\"");
                    w.Write(le);
                    w.Write('"');
                }
                w.Write('}');
            }
            w.Write(' ');
            w.Write(Prometheus.Number(value));
            w.Write('\n');
        }
    }

    private sealed class Series
    {
        private readonly string[] _keys;
        private readonly object?[] _values;

        public Series(ReadOnlySpan<KeyValuePair<string, object?>> tags, double[]? bounds)
        {
            var pairs = tags.ToArray();
            Array.Sort(pairs, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            _keys = new string[pairs.Length];
            _values = new object?[pairs.Length];
            var labels = new StringBuilder();
            for (var i = 0; i < pairs.Length; i++)
            {
                _keys[i] = pairs[i].Key;
                _values[i] = pairs[i].Value;
                if (i > 0) labels.Append(',');
                labels.Append(Prometheus.LabelName(pairs[i].Key)).Append("=\"")
                      .Append(Prometheus.EscapeLabelValue(Convert.ToString(pairs[i].Value, CultureInfo.InvariantCulture) ?? ""))
                      .Append('"');
            }
            Labels = labels.ToString();
            if (bounds is not null) Buckets = new long[bounds.Length + 1];
        }

        public string Labels { get; }
        public double Value;
        public double Sum;
        public long Count;
        public long[]? Buckets;
        public bool Seen;

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != _keys.Length) return false;
            foreach (var tag in tags)
            {
                var found = false;
                for (var i = 0; i < _keys.Length; i++)
                {
                    if (!string.Equals(_keys[i], tag.Key, StringComparison.Ordinal)) continue;
                    if (!ReferenceEquals(_values[i], tag.Value) && !Equals(_values[i], tag.Value)) return false;
                    found = true;
                    break;
                }
                if (!found) return false;
            }
            return true;
        }
    }
}

/// <summary>Names, values and escaping of the Prometheus text format.</summary>
internal static class Prometheus
{
    public static string MetricName(string name) => Sanitize(name, allowColon: true);

    public static string LabelName(string name)
    {
        var s = Sanitize(name, allowColon: false);
        return s.StartsWith("__", StringComparison.Ordinal) ? "x" + s : s;
    }

    private static string Sanitize(string name, bool allowColon)
    {
        if (name.Length == 0) return "_";
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or '_' || (allowColon && c == ':') || (i > 0 && c is >= '0' and <= '9');
            if (!ok) chars[i] = '_';
        }
        return new string(chars);
    }

    public static string Number(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf"
        : double.IsNegativeInfinity(v) ? "-Inf"
        : double.IsNaN(v) ? "NaN"
        : v.ToString("R", CultureInfo.InvariantCulture);

    public static string EscapeHelp(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public static string EscapeLabelValue(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal)
         .Replace("\"", "\\\"", StringComparison.Ordinal)
         .Replace("\n", "\\n", StringComparison.Ordinal);
}
