namespace ActorMta.Benchmarks.Support;

/// <summary>The summary statistic every benchmark table here prints.</summary>
public static class Stats
{
    /// <summary>The median: the middle value, or the mean of the two middle ones. Needs at least one value.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0) throw new ArgumentException("no values to take the median of", nameof(values));
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
