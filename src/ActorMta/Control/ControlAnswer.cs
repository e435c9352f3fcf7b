using System.Text.Json.Nodes;

namespace ActorMta.Control;

/// <summary>
/// One answer of the control endpoint: its head line, and for a listing the rows written after it
/// (<see cref="ControlProtocol"/>). A listing is streamed row by row rather than built as one JSON
/// document: the queue of a busy MTA may hold hundreds of thousands of messages, and neither the
/// MTA nor the operator's command should hold all of them as text at once.
/// </summary>
public sealed class ControlAnswer(JsonObject head, Func<Stream, CancellationToken, Task>? writeRows = null)
{
    public JsonObject Head { get; } = head;

    /// <summary>Writes the rows (each one JSON object and a newline) after the head; null when the head is all.</summary>
    public Func<Stream, CancellationToken, Task>? WriteRows { get; } = writeRows;

    public static implicit operator ControlAnswer(JsonObject head) => new(head);
}
