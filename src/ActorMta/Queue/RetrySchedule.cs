using System.Globalization;

namespace ActorMta.Queue;

/// <summary>
/// One rule of a retry schedule, as in Exim's retry section: it applies while the time since the
/// recipient's first failure is below <see cref="Cutoff"/>. <c>F</c> (fixed) retries every
/// <see cref="Interval"/>; <c>G</c> (geometric) starts with <see cref="Interval"/> and multiplies
/// each further interval by <see cref="Factor"/>.
/// </summary>
public sealed record RetryRule(RetryRuleKind Kind, TimeSpan Cutoff, TimeSpan Interval, double Factor = 1.0)
{
    /// <summary>The rule in its configuration syntax (<c>F,2h,15m</c>, <c>G,16h,1h,1.5</c>).</summary>
    public override string ToString() => Kind == RetryRuleKind.Fixed
        ? $"F,{RetrySchedule.FormatDuration(Cutoff)},{RetrySchedule.FormatDuration(Interval)}"
        : $"G,{RetrySchedule.FormatDuration(Cutoff)},{RetrySchedule.FormatDuration(Interval)},{Factor.ToString(CultureInfo.InvariantCulture)}";
}

public enum RetryRuleKind { Fixed, Geometric }

/// <summary>
/// When a deferred recipient is tried again, and when it is given up: Exim's retry rules, counted per
/// recipient from its FIRST failure (not from reception), so a recipient that failed late gets the
/// whole schedule. The schedule is a pure function of (first failure, now): nothing but the first
/// failure time needs to survive a restart.
/// </summary>
/// <remarks>
/// Configuration syntax, one string per rule, rules in order of increasing cutoff:
/// <list type="bullet">
/// <item><c>F,&lt;cutoff&gt;,&lt;interval&gt;</c>: every interval until cutoff;</item>
/// <item><c>G,&lt;cutoff&gt;,&lt;first interval&gt;,&lt;factor&gt;</c>: growing intervals until cutoff.</item>
/// </list>
/// Durations are Exim's: digits with a unit <c>s m h d w</c>, concatenable (<c>1h30m</c>); <c>ms</c> for tests.
/// The default <see cref="EximDefault"/> is Exim's own: <c>F,2h,15m</c>, <c>G,16h,1h,1.5</c>, <c>F,4d,6h</c>.
/// After the last cutoff the recipient is tried once more and, if that fails too, it bounces.
/// </remarks>
public static class RetrySchedule
{
    /// <summary>Every 15 minutes for 2 hours, then from 1 hour growing by 1.5 up to 16 hours, then every 6 hours up to 4 days.</summary>
    public static IReadOnlyList<RetryRule> EximDefault { get; } =
    [
        new(RetryRuleKind.Fixed, TimeSpan.FromHours(2), TimeSpan.FromMinutes(15)),
        new(RetryRuleKind.Geometric, TimeSpan.FromHours(16), TimeSpan.FromHours(1), 1.5),
        new(RetryRuleKind.Fixed, TimeSpan.FromDays(4), TimeSpan.FromHours(6)),
    ];

    /// <summary>
    /// Parses rules (e.g. the strings of <c>actormta.queue.retry</c>). Errors name the rule (1-based) and
    /// what is wrong with it, as <see cref="FormatException"/>; callers add file and line.
    /// </summary>
    public static IReadOnlyList<RetryRule> Parse(IEnumerable<string> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var result = new List<RetryRule>();
        int n = 0;
        foreach (string text in rules)
        {
            n++;
            string where = $"retry rule {n} \"{text}\"";
            var parts = (text ?? "").Split(',', StringSplitOptions.TrimEntries);
            RetryRule rule = parts switch
            {
                ["F" or "f", var cutoff, var interval] => new RetryRule(RetryRuleKind.Fixed, Duration(cutoff, where, "cutoff"), Duration(interval, where, "interval")),
                ["G" or "g", var cutoff, var interval, var factor] => new RetryRule(
                    RetryRuleKind.Geometric, Duration(cutoff, where, "cutoff"), Duration(interval, where, "first interval"), Factor(factor, where)),
                ["F" or "f", ..] => throw new FormatException($"{where}: a fixed rule is F,<cutoff>,<interval> (e.g. F,2h,15m)"),
                ["G" or "g", ..] => throw new FormatException($"{where}: a geometric rule is G,<cutoff>,<first interval>,<factor> (e.g. G,16h,1h,1.5)"),
                _ => throw new FormatException($"{where}: must start with F (fixed interval) or G (geometric), e.g. F,2h,15m or G,16h,1h,1.5"),
            };
            if (rule.Interval <= TimeSpan.Zero) throw new FormatException($"{where}: the interval must be more than zero");
            if (result.Count > 0 && rule.Cutoff <= result[^1].Cutoff)
                throw new FormatException($"{where}: cutoff {FormatDuration(rule.Cutoff)} is not after the previous rule's {FormatDuration(result[^1].Cutoff)}; rules go in order of increasing cutoff");
            result.Add(rule);
        }
        if (result.Count == 0) throw new FormatException("the retry schedule needs at least one rule, e.g. F,4d,15m");
        return result;
    }

    /// <summary>
    /// The next attempt for a recipient that just failed temporarily, or null when its time has run out
    /// (it bounces now). <paramref name="maxRetryTime"/> caps the last cutoff.
    /// </summary>
    public static DateTimeOffset? NextAttempt(IReadOnlyList<RetryRule> rules, DateTimeOffset firstFailure, DateTimeOffset now, TimeSpan maxRetryTime)
    {
        if (rules.Count == 0) return null;
        var end = rules[^1].Cutoff < maxRetryTime ? rules[^1].Cutoff : maxRetryTime;
        var elapsed = now - firstFailure;
        if (elapsed >= end) return null;
        // Walk the schedule's points from the first failure; the first one after now is the next try.
        var at = TimeSpan.Zero;
        foreach (var rule in rules)
        {
            var interval = rule.Interval;
            while (at < rule.Cutoff && at < end)
            {
                at += interval;
                if (at > elapsed) return firstFailure + (at < end ? at : end);
                if (rule.Kind == RetryRuleKind.Geometric) interval = TimeSpan.FromTicks((long)Math.Min(interval.Ticks * rule.Factor, TimeSpan.MaxValue.Ticks / 2.0));
            }
        }
        // Past the last rule's points but before the end: one last try at the end.
        return firstFailure + end;
    }

    private static TimeSpan Duration(string text, string where, string what)
        => TryParseDuration(text, out var value) ? value
            : throw new FormatException($"{where}: {what} \"{text}\" is not a duration (digits with s, m, h, d or w, e.g. 15m or 1h30m)");

    private static double Factor(string text, string where)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f >= 1.0 && double.IsFinite(f) ? f
            : throw new FormatException($"{where}: factor \"{text}\" must be a number of at least 1 (e.g. 1.5)");

    /// <summary>Exim's duration syntax: <c>30s</c>, <c>15m</c>, <c>2h</c>, <c>4d</c>, <c>1w</c>, combined (<c>1h30m</c>); <c>ms</c> too.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text)) return false;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (i == start || i == text.Length) return false;
            if (!long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out long number)) return false;
            TimeSpan unit;
            if (text[i] == 'm' && i + 1 < text.Length && text[i + 1] == 's')
            {
                unit = TimeSpan.FromMilliseconds(1);
                i += 2;
            }
            else
            {
                unit = text[i] switch
                {
                    's' => TimeSpan.FromSeconds(1),
                    'm' => TimeSpan.FromMinutes(1),
                    'h' => TimeSpan.FromHours(1),
                    'd' => TimeSpan.FromDays(1),
                    'w' => TimeSpan.FromDays(7),
                    _ => TimeSpan.Zero,
                };
                if (unit == TimeSpan.Zero) return false;
                i++;
            }
            if (number > TimeSpan.MaxValue.Ticks / unit.Ticks / 2) return false;
            value += TimeSpan.FromTicks(number * unit.Ticks);
        }
        return true;
    }

    internal static string FormatDuration(TimeSpan t)
    {
        if (t.Ticks % TimeSpan.TicksPerSecond != 0) return $"{(long)t.TotalMilliseconds}ms";
        var parts = new System.Text.StringBuilder();
        if (t.Days > 0) parts.Append(CultureInfo.InvariantCulture, $"{t.Days}d");
        if (t.Hours > 0) parts.Append(CultureInfo.InvariantCulture, $"{t.Hours}h");
        if (t.Minutes > 0) parts.Append(CultureInfo.InvariantCulture, $"{t.Minutes}m");
        if (t.Seconds > 0 || parts.Length == 0) parts.Append(CultureInfo.InvariantCulture, $"{t.Seconds}s");
        return parts.ToString();
    }
}
