using System.Globalization;
using System.Text;
using ActorMta.Queue;
using ActorMta.Spool;

namespace ActorMta.Control;

/// <summary>
/// The layout of <c>exim -bp</c>, so operators' eyes and scripts (exiqsumm, exiqgrep) read it:
/// <code>
///  25m  2.9K 1xXdwa-Un3fSo-uC &lt;alice@example.com&gt; *** frozen ***
///           bob@example.net
///         D carol@example.org
///
/// </code>
/// Age right-aligned in whole minutes, hours past 90 minutes, days past 72 hours (as Exim
/// rounds them); size in five columns (bytes, then K and M with one decimal below ten); a delivered or
/// failed recipient is marked D; a blank line after each message.
/// </summary>
public static class EximQueueFormat
{
    public static string Format(IEnumerable<QueuedMessage> messages)
    {
        var sb = new StringBuilder();
        foreach (var m in messages) Append(sb, m);
        return sb.ToString();
    }

    public static void Append(StringBuilder sb, QueuedMessage m)
    {
        sb.Append(Age(m.Age)).Append(' ').Append(Size(m.Size)).Append(' ').Append(m.Id)
          .Append(" <").Append(m.Sender).Append('>');
        if (m.Frozen) sb.Append(" *** frozen ***");
        sb.Append('\n');
        foreach (var r in m.Recipients)
            sb.Append("        ").Append(r.State == RecipientState.Pending ? ' ' : 'D').Append(' ').Append(r.Address).Append('\n');
        sb.Append('\n');
    }

    /// <summary>"25m", " 2h", " 3d": whole minutes up to 90, then rounded hours up to 72, then rounded days.</summary>
    public static string Age(TimeSpan age)
    {
        long minutes = (long)Math.Max(0, age.TotalSeconds) / 60;
        if (minutes <= 90) return string.Create(CultureInfo.InvariantCulture, $"{minutes,2}m");
        long hours = (minutes + 30) / 60;
        if (hours <= 72) return string.Create(CultureInfo.InvariantCulture, $"{hours,2}h");
        return string.Create(CultureInfo.InvariantCulture, $"{(hours + 12) / 24,2}d");
    }

    /// <summary>Five columns: "  402", " 2.9K", "  14K", " 1.5M", "  12M".</summary>
    public static string Size(long size)
    {
        const double K = 1024, M = 1024 * 1024;
        if (size < 1024) return string.Create(CultureInfo.InvariantCulture, $"{size,5}");
        if (size < 10 * 1024) return string.Create(CultureInfo.InvariantCulture, $"{size / K,4:0.0}K");
        if (size < 1024 * 1024) return string.Create(CultureInfo.InvariantCulture, $"{(size + 512) / 1024,4}K");
        if (size < 10 * 1024 * 1024) return string.Create(CultureInfo.InvariantCulture, $"{size / M,4:0.0}M");
        return string.Create(CultureInfo.InvariantCulture, $"{(size + 512 * 1024) / (1024 * 1024),4}M");
    }
}
