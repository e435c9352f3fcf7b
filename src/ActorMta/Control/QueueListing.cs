using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorMta.Queue;
using ActorMta.Spool;

namespace ActorMta.Control;

/// <summary>
/// The queue as the operator sees it, from either source: the running queue manager's
/// <see cref="QueueSnapshot"/>, or the spool files of a stopped MTA. One JSON form for both
/// (the wire format of <c>list</c> and the output of <c>queue list --json</c>).
/// </summary>
public static class QueueListing
{
    /// <summary>A spooled message as the queue would list it (no attempt running, attempts unknown).</summary>
    public static QueuedMessage FromSpool(SpooledMessage message, DateTimeOffset now) =>
        new(message.Id,
            message.Envelope.Sender,
            message.Envelope.Recipients.Select((r, i) => new QueuedRecipient(r.Address, message.Recipients[i])).ToArray(),
            message.Envelope.ReceivedAt,
            now - message.Envelope.ReceivedAt,
            message.Envelope.Size,
            message.NextAttempt is { } next && next > now ? next : null,
            InFlight: false,
            Attempts: 0)
        { Frozen = message.Frozen };

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = ControlProtocol.Json.Encoder };

    /// <summary>The JSON form of one message: the one place it is written.</summary>
    public static void Write(Utf8JsonWriter w, QueuedMessage m)
    {
        w.WriteStartObject();
        w.WriteString("id", m.Id);
        w.WriteString("sender", m.Sender);
        w.WriteString("received", m.ReceivedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        w.WriteNumber("age-seconds", (long)Math.Max(0, m.Age.TotalSeconds));
        w.WriteNumber("size", m.Size);
        w.WriteBoolean("frozen", m.Frozen);
        w.WriteBoolean("in-flight", m.InFlight);
        if (m.NextAttempt is { } next) w.WriteString("next-attempt", next.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        else w.WriteNull("next-attempt");
        w.WriteStartArray("recipients");
        foreach (var r in m.Recipients)
        {
            w.WriteStartObject();
            w.WriteString("address", r.Address);
            w.WriteString("state", StateName(r.State));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>One message as one line of <c>queue list --json</c>, without the newline.</summary>
    public static string ToJsonLine(QueuedMessage m)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) Write(w, m);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static JsonObject ToJson(QueuedMessage m) => JsonNode.Parse(ToJsonLine(m))!.AsObject();

    /// <summary>
    /// The rows of a <c>list</c> answer: one line per message, written in batches of about 32 KiB
    /// as the reader takes them, so the listing is never one string in memory.
    /// </summary>
    public static async Task WriteRowsAsync(Stream stream, IEnumerable<QueuedMessage> messages, CancellationToken ct)
    {
        const int Batch = 32 * 1024;
        var buffer = new ArrayBufferWriter<byte>(Batch + 4096);
        var w = new Utf8JsonWriter(buffer, WriterOptions);
        await using (w.ConfigureAwait(false))
        {
            foreach (var m in messages)
            {
                w.Reset(buffer);
                Write(w, m);
                w.Flush();
                buffer.Write("\n"u8);
                if (buffer.WrittenCount < Batch) continue;
                await stream.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
                buffer.ResetWrittenCount();
            }
            if (buffer.WrittenCount > 0) await stream.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Reads back what <see cref="ToJson"/> wrote; <see cref="FormatException"/> if it is not that.</summary>
    public static QueuedMessage FromJson(JsonNode? node)
    {
        try
        {
            var o = node!.AsObject();
            var recipients = o["recipients"]!.AsArray()
                .Select(r => new QueuedRecipient((string)r!["address"]!, ParseState((string)r["state"]!)))
                .ToArray();
            string? next = (string?)o["next-attempt"];
            return new QueuedMessage(
                (string)o["id"]!,
                (string)o["sender"]!,
                recipients,
                DateTimeOffset.Parse((string)o["received"]!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                TimeSpan.FromSeconds((long)o["age-seconds"]!),
                (long)o["size"]!,
                next is null ? null : DateTimeOffset.Parse(next, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                (bool)o["in-flight"]!,
                Attempts: 0)
            { Frozen = (bool)o["frozen"]! };
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
        {
            throw new FormatException($"not a queue entry: {e.Message}", e);
        }
    }

    public static string StateName(RecipientState state) => state switch
    {
        RecipientState.Delivered => "delivered",
        RecipientState.Failed => "failed",
        _ => "pending",
    };

    private static RecipientState ParseState(string name) => name switch
    {
        "delivered" => RecipientState.Delivered,
        "failed" => RecipientState.Failed,
        "pending" => RecipientState.Pending,
        _ => throw new FormatException($"unknown recipient state \"{name}\""),
    };
}
