using System.Globalization;

namespace ActorMta.Tests.Metrics;

/// <summary>Reading values back out of an exposition.</summary>
internal static class Scrapes
{
    /// <summary>The value of the sample <paramref name="series"/> (name and labels exactly as written), or null.</summary>
    public static double? Value(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length > series.Length && line.StartsWith(series, StringComparison.Ordinal) && line[series.Length] == ' ')
                return double.Parse(line.AsSpan(series.Length + 1), NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>Every sample line of one family (its name followed by a brace or a space).</summary>
    public static string[] Samples(string exposition, string family) =>
        exposition.Split('\n')
            .Where(l => l.StartsWith(family + "{", StringComparison.Ordinal) || l.StartsWith(family + " ", StringComparison.Ordinal))
            .ToArray();
}

/// <summary>Tests that record into ActorMta's own static Meter run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class MtaMeterCollection
{
    public const string Name = "ActorMta Meter";
}
