using System.Globalization;
using System.Text;
using ActorMta.Queue;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Host;

/// <summary>The parts of <c>actormta queue show</c>: envelope and state, header section, main-log lines.</summary>
internal static class MessageReport
{
    private const int MaxHeaderBytes = 1024 * 1024;

    public static void AppendEnvelope(StringBuilder sb, Envelope envelope, QueuedMessage state)
    {
        static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        sb.Append("Message ").Append(envelope.MessageId).Append('\n');
        sb.Append("  Received:   ").Append(Time(envelope.ReceivedAt)).Append(" (").Append(Control.EximQueueFormat.Age(state.Age).Trim()).Append(" ago)\n");
        sb.Append("  Sender:     <").Append(envelope.Sender).Append(">\n");
        sb.Append("  Size:       ").Append(envelope.Size.ToString(CultureInfo.InvariantCulture)).Append(" bytes\n");
        sb.Append("  Protocol:   ").Append(envelope.Protocol);
        if (envelope.ClientAddress.Length > 0)
            sb.Append(" from ").Append(envelope.HeloName is null ? "" : $"({envelope.HeloName}) ").Append('[').Append(envelope.ClientAddress).Append("]:").Append(envelope.ClientPort);
        sb.Append('\n');
        if (envelope.HeaderMessageId is { } mid) sb.Append("  Message-ID: <").Append(mid).Append(">\n");
        sb.Append("  State:      ").Append(
            state.Frozen ? "*** frozen ***"
            : state.InFlight ? "delivery attempt running"
            : state.NextAttempt is { } next ? $"waiting, next attempt {Time(next)}"
            : "due now").Append('\n');
        sb.Append("  Recipients:\n");
        foreach (var r in state.Recipients)
        {
            sb.Append("    ").Append(r.State == RecipientState.Pending ? ' ' : 'D').Append(' ').Append(r.Address)
              .Append(r.State switch { RecipientState.Delivered => " (delivered)", RecipientState.Failed => " (failed)", _ => "" }).Append('\n');
        }
    }

    /// <summary>The header section as text, LF line endings, without the blank line that ends it.</summary>
    public static string HeaderSection(Stream data)
    {
        var bytes = new List<byte>(4096);
        int b, lineLength = 0;
        while (bytes.Count < MaxHeaderBytes && (b = data.ReadByte()) >= 0)
        {
            if (b == '\r') continue;
            if (b == '\n')
            {
                if (lineLength == 0) break; // the blank line: the body starts
                lineLength = 0;
            }
            else lineLength++;
            bytes.Add((byte)b);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>Most rotated main logs looked at (a daily rotation keeps a few weeks).</summary>
    private const int MaxRotations = 99;

    /// <summary>
    /// Every main-log line that mentions the id (like exigrep), oldest first, or why there are
    /// none. A message queued for days has lines in every rotation of the log since it came, so
    /// the rotated files are read too: <c>mainlog.1</c>, then <c>mainlog.2</c> and so on, each
    /// also as <c>.gz</c> (logrotate's <c>compress</c>) and with two digits (exicyclog's
    /// <c>mainlog.01</c>), or logrotate's <c>dateext</c> names, back to the first one whose first line is not after
    /// <paramref name="receivedAt"/>: older ones cannot hold the message's lines and are not opened.
    /// </summary>
    public static void AppendLogLines(StringBuilder sb, string? mainLog, string id, DateTimeOffset receivedAt)
    {
        if (mainLog is null)
        {
            sb.Append("  (the main log is off: actormta.log.main-log)\n");
            return;
        }
        var files = FilesSince(mainLog, receivedAt);
        bool any = false;
        foreach (var file in files)
        {
            try
            {
                using var reader = Open(file);
                while (reader.ReadLine() is { } line)
                {
                    if (!line.Contains(id, StringComparison.Ordinal)) continue;
                    sb.Append(line).Append('\n');
                    any = true;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                sb.Append("  (cannot read ").Append(file).Append(": ").Append(e.Message).Append(")\n");
                return;
            }
        }
        if (!any) sb.Append("  (no lines for ").Append(id).Append(" in ").Append(string.Join(" or ", files)).Append(")\n");
    }

    /// <summary>The files to read, oldest first; the current one last (even when missing: right after a
    /// rename it appears at its next line, and a log never written says so when opened).</summary>
    private static List<string> FilesSince(string mainLog, DateTimeOffset receivedAt)
    {
        var files = new List<string>();
        foreach (string rotated in RotationsNewestFirst(mainLog))
        {
            files.Add(rotated);
            if (FirstLineTime(rotated) is { } first && first <= receivedAt) break;
        }
        files.Reverse();
        // Just rotated, the current file appears at its next line: the rotated ones are enough then.
        if (files.Count == 0 || File.Exists(mainLog)) files.Add(mainLog);
        return files;
    }

    /// <summary>
    /// The rotated files of <paramref name="mainLog"/>, newest first: numbered ones (<c>mainlog.1</c>,
    /// <c>mainlog.2.gz</c>, exicyclog's <c>mainlog.01</c>) while they run on, else logrotate's
    /// <c>dateext</c> ones (<c>mainlog-20261130</c>, <c>mainlog-20261130.gz</c>), whose dates sort by name.
    /// </summary>
    private static IEnumerable<string> RotationsNewestFirst(string mainLog)
    {
        var numbered = new List<string>();
        for (int n = 1; n <= MaxRotations; n++)
        {
            string? rotated = new[] { $"{mainLog}.{n}", $"{mainLog}.{n}.gz", $"{mainLog}.{n:D2}", $"{mainLog}.{n:D2}.gz" }.FirstOrDefault(File.Exists);
            if (rotated is null) break;
            numbered.Add(rotated);
        }
        if (numbered.Count > 0) return numbered;
        string? folder = Path.GetDirectoryName(mainLog);
        if (folder is null || !Directory.Exists(folder)) return [];
        string prefix = Path.GetFileName(mainLog) + "-";
        return Directory.EnumerateFiles(folder, prefix + "*")
            .Where(f => Path.GetFileName(f).Length > prefix.Length && char.IsAsciiDigit(Path.GetFileName(f)[prefix.Length]))
            .OrderByDescending(f => Path.GetFileName(f).Replace(".gz", "", StringComparison.Ordinal), StringComparer.Ordinal)
            .Take(MaxRotations)
            .ToList();
    }

    private static StreamReader Open(string file)
    {
        Stream stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (file.EndsWith(".gz", StringComparison.Ordinal)) stream = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress);
        return new StreamReader(stream, Encoding.UTF8);
    }

    /// <summary>When the file's first line was written (the main log's local time), or null when it has none or cannot be read.</summary>
    private static DateTimeOffset? FirstLineTime(string file)
    {
        try
        {
            using var reader = Open(file);
            string? line = reader.ReadLine();
            return line is { Length: >= 19 }
                && DateTime.TryParseExact(line.AsSpan(0, 19), "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var local)
                ? new DateTimeOffset(local)
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null; // said when it is read
        }
    }
}
