using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorMta.Transport;

namespace ActorMta.Spool;

/// <summary>
/// The on-disk format of one spool file, version 1. Text lines (LF) around the raw data:
/// <code>
/// actormta-spool 1\n                  version line: anything else is refused
/// envelope {"id":"...",...}\n         the envelope as one JSON object (field names below, no CLR types)
/// data 1234\n                         length of the message data in bytes
/// &lt;1234 bytes of data&gt;\n            the data exactly as given to StoreAsync, then one LF
/// journal\n                           start of the journal: written with the file
/// rcpt 0 delivered\n                  appended (and fsynced) when recipient 0 is done
/// retry 2026-11-29T12:30:00.0000000+00:00\n   appended when an attempt deferred
/// defer 1 2026-11-29T12:15:00.0000000+00:00\n   recipient 1 first failed temporarily then (retry cutoff)
/// fail 1 {"status":"5.1.1",...}\n     why recipient 1 failed (for its bounce); written with its rcpt record
/// rcpt 1 failed\n
/// bounced 1,2 XXXXXX-YYYYYY-ZZ\n     the outcomes of 1 and 2 (failures; or deliveries they asked to hear of
///                                     with NOTIFY=SUCCESS) were reported by that message ("-": none was due)
/// frozen root\n                       the operator (root) froze the message: retries skip it
/// thawed root\n                       ... and thawed it again (the last of the two wins)
/// warned 2 XXXXXX-YYYYYY-ZZ\n         the second delay warning went to the sender as that message ("-": none was wanted)
/// </code>
/// Journal records are complete only with their LF: a torn last line (crash during an append) is
/// ignored and cut off at recovery, which is safe because a record is written BEFORE the step it
/// allows (see <see cref="MessageSpool"/>).
/// </summary>
internal static class SpoolFile
{
    public const string VersionLine = "actormta-spool 1";
    public const string JournalLine = "journal";
    private const int MaxHeaderLine = 16 * 1024 * 1024;

    /// <summary>Everything written before the data.</summary>
    public static byte[] Header(Envelope envelope, long dataLength)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        buffer.Write(Encoding.ASCII.GetBytes(VersionLine + "\nenvelope "));
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteEnvelope(json, envelope);
        }
        buffer.Write(Encoding.ASCII.GetBytes($"\ndata {dataLength.ToString(CultureInfo.InvariantCulture)}\n"));
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Everything written after the data (the empty journal).</summary>
    public static readonly byte[] Trailer = Encoding.ASCII.GetBytes("\n" + JournalLine + "\n");

    public static string RecipientRecord(int index, RecipientState state)
        => $"rcpt {index.ToString(CultureInfo.InvariantCulture)} {(state == RecipientState.Delivered ? "delivered" : "failed")}\n";

    public static string RetryRecord(DateTimeOffset nextAttempt)
        => $"retry {nextAttempt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)}\n";

    public static string DeferRecord(int index, DateTimeOffset firstFailure)
        => $"defer {index.ToString(CultureInfo.InvariantCulture)} {firstFailure.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)}\n";

    /// <summary>The failure details, then the failed record: one append, one fsync.</summary>
    public static string FailRecords(int index, RecipientFailure failure)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", failure.Status);
            WriteOptional(json, "remote-mta", failure.RemoteMta);
            WriteOptional(json, "diagnostic", failure.Diagnostic);
            json.WriteString("text", failure.Text);
            json.WriteEndObject();
        }
        string i = index.ToString(CultureInfo.InvariantCulture);
        // Escaped JSON has no raw LF, so the record stays one line.
        return $"fail {i} {Encoding.UTF8.GetString(buffer.WrittenSpan)}\n" + RecipientRecord(index, RecipientState.Failed);
    }

    /// <summary>The operator froze or thawed the message; <paramref name="user"/> is kept for the record (one word).</summary>
    public static string FrozenRecord(bool frozen, string user)
        => $"{(frozen ? "frozen" : "thawed")} {OneWord(user)}\n";

    private static string OneWord(string text)
    {
        var word = new string(text.Select(static c => char.IsWhiteSpace(c) || char.IsControl(c) ? '_' : c).ToArray());
        return word.Length == 0 ? "-" : word;
    }

    /// <summary>Delay warning number <paramref name="count"/> is done: sent as <paramref name="warningId"/>, or not wanted (null).</summary>
    public static string WarnedRecord(int count, string? warningId)
        => $"warned {count.ToString(CultureInfo.InvariantCulture)} {warningId ?? "-"}\n";

    public static string BouncedRecord(IEnumerable<int> indexes, string? bounceId)
        => $"bounced {string.Join(',', indexes.Select(i => i.ToString(CultureInfo.InvariantCulture)))} {bounceId ?? "-"}\n";

    /// <summary>The parsed head of a spool file: envelope and where the data is.</summary>
    public sealed record Head(Envelope Envelope, long DataOffset, long DataLength)
    {
        /// <summary>Offset of the first journal record.</summary>
        public long JournalOffset => DataOffset + DataLength + Trailer.Length;
    }

    /// <summary>Reads the head of the file; <see cref="FormatException"/> if it is not a v1 spool file.</summary>
    public static Head ReadHead(Stream file)
    {
        long offset = 0;
        string version = ReadLine(file, ref offset);
        if (version != VersionLine) throw new FormatException($"unknown spool file version line \"{Truncate(version)}\"");
        string envelopeLine = ReadLine(file, ref offset);
        if (!envelopeLine.StartsWith("envelope ", StringComparison.Ordinal)) throw new FormatException("envelope line missing");
        var envelope = ReadEnvelope(envelopeLine["envelope ".Length..]);
        string dataLine = ReadLine(file, ref offset);
        if (!dataLine.StartsWith("data ", StringComparison.Ordinal)
            || !long.TryParse(dataLine.AsSpan("data ".Length), NumberStyles.None, CultureInfo.InvariantCulture, out long length))
            throw new FormatException("data line missing");
        return new Head(envelope, offset, length);
    }

    /// <summary>
    /// Reads the journal of a file whose head is <paramref name="head"/>. Returns the recipient states,
    /// the last retry time and the length of the complete part of the file (to cut a torn record).
    /// </summary>
    public static (RecipientState[] States, DateTimeOffset? Retry, long CompleteLength) ReadJournal(Stream file, Head head)
    {
        var journal = ReadFullJournal(file, head);
        return (journal.States, journal.Retry, journal.CompleteLength);
    }

    /// <summary>Everything the journal says.</summary>
    public sealed record Journal(
        RecipientState[] States,
        DateTimeOffset? Retry,
        long CompleteLength,
        DateTimeOffset?[] FirstFailures,
        RecipientFailure?[] Failures,
        bool[] Bounced)
    {
        /// <summary>The last frozen/thawed record says frozen.</summary>
        public bool Frozen { get; init; }

        /// <summary>Delay warnings done (the highest warned record).</summary>
        public int Warnings { get; init; }
    }

    public static Journal ReadFullJournal(Stream file, Head head)
    {
        int count = head.Envelope.Recipients.Count;
        var states = new RecipientState[count];
        var firstFailures = new DateTimeOffset?[count];
        var failures = new RecipientFailure?[count];
        var bounced = new bool[count];
        DateTimeOffset? retry = null;
        bool frozen = false;
        int warnings = 0;
        long fileLength = file.Length;
        if (fileLength < head.JournalOffset) throw new FormatException("file shorter than its data length (truncated)");

        file.Position = head.DataOffset + head.DataLength;
        Span<byte> trailer = stackalloc byte[Trailer.Length];
        file.ReadExactly(trailer);
        if (!trailer.SequenceEqual(Trailer)) throw new FormatException("journal line missing after the data");

        var rest = new byte[fileLength - head.JournalOffset];
        file.ReadExactly(rest);
        int complete = rest.AsSpan().LastIndexOf((byte)'\n') + 1;
        foreach (var line in Encoding.UTF8.GetString(rest, 0, complete).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("fail ", StringComparison.Ordinal))
            {
                int space = line.IndexOf(' ', 5);
                if (space > 0 && int.TryParse(line.AsSpan(5, space - 5), NumberStyles.None, CultureInfo.InvariantCulture, out int f) && f < count)
                {
                    failures[f] = ReadFailure(line[(space + 1)..]);
                    continue;
                }
                throw new FormatException($"unknown journal record \"{Truncate(line)}\"");
            }
            var fields = line.Split(' ');
            if (fields is ["rcpt", var index, var outcome]
                && int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < states.Length)
            {
                states[i] = outcome switch
                {
                    "delivered" => RecipientState.Delivered,
                    "failed" => RecipientState.Failed,
                    _ => throw new FormatException($"unknown journal record \"{Truncate(line)}\""),
                };
            }
            else if (fields is ["retry", var when]
                && DateTimeOffset.TryParse(when, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at))
            {
                retry = at;
            }
            else if (fields is ["defer", var deferIndex, var first]
                && int.TryParse(deferIndex, NumberStyles.None, CultureInfo.InvariantCulture, out int d) && d < count
                && DateTimeOffset.TryParse(first, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var firstAt))
            {
                firstFailures[d] ??= firstAt;
            }
            else if (fields is ["frozen" or "thawed", _])
            {
                frozen = fields[0] == "frozen";
            }
            else if (fields is ["warned", var warned, _]
                && int.TryParse(warned, NumberStyles.None, CultureInfo.InvariantCulture, out int w))
            {
                warnings = Math.Max(warnings, w);
            }
            else if (fields is ["bounced", var list, _])
            {
                foreach (var item in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b >= count)
                        throw new FormatException($"unknown journal record \"{Truncate(line)}\"");
                    bounced[b] = true;
                }
            }
            else
            {
                throw new FormatException($"unknown journal record \"{Truncate(line)}\"");
            }
        }
        return new Journal(states, retry, head.JournalOffset + complete, firstFailures, failures, bounced) { Frozen = frozen, Warnings = warnings };
    }

    private static RecipientFailure ReadFailure(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var o = doc.RootElement;
            return new RecipientFailure(
                o.GetProperty("status").GetString()!, Optional(o, "remote-mta"), Optional(o, "diagnostic"), o.GetProperty("text").GetString()!);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or NullReferenceException)
        {
            throw new FormatException($"bad fail record: {e.Message}", e);
        }
    }

    /// <summary>One header line, without its LF. Read a byte at a time (through the stream's buffer),
    /// so that the stream stops exactly at the data; the line is gathered in a pooled buffer, since
    /// every delivery reads a head.</summary>
    private static string ReadLine(Stream file, ref long offset)
    {
        byte[] line = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            int length = 0;
            while (true)
            {
                int b = file.ReadByte();
                if (b < 0) throw new FormatException("file ends inside its header (truncated)");
                offset++;
                if (b == '\n') return Encoding.UTF8.GetString(line, 0, length);
                if (length == MaxHeaderLine) throw new FormatException("header line too long");
                if (length == line.Length)
                {
                    int start = 0;
                    line = ReceiveBuffer.MakeRoom(line, ref start, ref length);
                }
                line[length++] = (byte)b;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(line);
        }
    }

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "...";

    // JSON field names are part of the format: change them only with a new version line.
    private static void WriteEnvelope(Utf8JsonWriter json, Envelope e)
    {
        json.WriteStartObject();
        json.WriteString("id", e.MessageId);
        json.WriteString("sender", e.Sender);
        json.WriteStartArray("recipients");
        foreach (var r in e.Recipients)
        {
            json.WriteStartObject();
            json.WriteString("address", r.Address);
            WriteOptional(json, "notify", r.Notify);
            WriteOptional(json, "orcpt", r.ORcpt);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("received", e.ReceivedAt.ToString("O", CultureInfo.InvariantCulture));
        WriteOptional(json, "helo", e.HeloName);
        json.WriteString("client-address", e.ClientAddress);
        json.WriteNumber("client-port", e.ClientPort);
        json.WriteString("protocol", e.Protocol);
        WriteOptional(json, "body", e.Body);
        json.WriteBoolean("smtputf8", e.SmtpUtf8);
        WriteOptional(json, "ret", e.Ret);
        WriteOptional(json, "envid", e.EnvId);
        WriteOptional(json, "message-id", e.HeaderMessageId);
        json.WriteNumber("size", e.Size);
        json.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null) json.WriteString(name, value);
    }

    private static Envelope ReadEnvelope(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var o = doc.RootElement;
            var recipients = o.GetProperty("recipients").EnumerateArray()
                .Select(r => new EnvelopeRecipient(r.GetProperty("address").GetString()!, Optional(r, "notify"), Optional(r, "orcpt")))
                .ToArray();
            return new Envelope(
                MessageId: o.GetProperty("id").GetString()!,
                Sender: o.GetProperty("sender").GetString()!,
                Recipients: recipients,
                ReceivedAt: DateTimeOffset.Parse(o.GetProperty("received").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                HeloName: Optional(o, "helo"),
                ClientAddress: o.GetProperty("client-address").GetString()!,
                ClientPort: o.GetProperty("client-port").GetInt32(),
                Protocol: o.GetProperty("protocol").GetString()!,
                Body: Optional(o, "body"),
                SmtpUtf8: o.GetProperty("smtputf8").GetBoolean(),
                Ret: Optional(o, "ret"),
                EnvId: Optional(o, "envid"),
                HeaderMessageId: Optional(o, "message-id"),
                Size: o.GetProperty("size").GetInt64());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new FormatException($"bad envelope: {e.Message}", e);
        }
    }

    private static string? Optional(JsonElement o, string name)
        => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
