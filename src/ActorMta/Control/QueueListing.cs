using System.Globalization;
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

    public static JsonObject ToJson(QueuedMessage m)
    {
        var recipients = new JsonArray();
        foreach (var r in m.Recipients)
            recipients.Add(new JsonObject { ["address"] = r.Address, ["state"] = StateName(r.State) });
        var o = new JsonObject
        {
            ["id"] = m.Id,
            ["sender"] = m.Sender,
            ["received"] = m.ReceivedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
            ["age-seconds"] = (long)Math.Max(0, m.Age.TotalSeconds),
            ["size"] = m.Size,
            ["frozen"] = m.Frozen,
            ["in-flight"] = m.InFlight,
            ["next-attempt"] = m.NextAttempt?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
            ["recipients"] = recipients,
        };
        return o;
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
