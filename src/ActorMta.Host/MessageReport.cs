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

    /// <summary>Every main-log line that mentions the id (like exigrep), or why there are none.</summary>
    /// <summary>
    /// The message's lines in the main log: in the file rotated last (<c>mainlog.1</c>, as logrotate
    /// and exicyclog name it, left uncompressed by logrotate's <c>delaycompress</c>), then in the
    /// current one, so that a rotation in the middle of a message's life hides none of its lines.
    /// </summary>
    public static void AppendLogLines(StringBuilder sb, string? mainLog, string id)
    {
        if (mainLog is null)
        {
            sb.Append("  (the main log is off: actormta.log.main-log)\n");
            return;
        }
        string rotated = mainLog + ".1";
        var files = File.Exists(rotated) ? new[] { rotated, mainLog } : [mainLog];
        bool any = false;
        foreach (var file in files)
        {
            // Just rotated, the current file appears at its next line: the rotated one is enough then.
            if (file == mainLog && files.Length == 2 && !File.Exists(mainLog)) continue;
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                while (reader.ReadLine() is { } line)
                {
                    if (!line.Contains(id, StringComparison.Ordinal)) continue;
                    sb.Append(line).Append('\n');
                    any = true;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                sb.Append("  (cannot read ").Append(file).Append(": ").Append(e.Message).Append(")\n");
                return;
            }
        }
        if (!any) sb.Append("  (no lines for ").Append(id).Append(" in ").Append(string.Join(" or ", files)).Append(")\n");
    }
}
