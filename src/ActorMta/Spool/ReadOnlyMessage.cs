namespace ActorMta.Spool;

/// <summary>A message read from a spool this process does not own (see
/// <see cref="MessageSpool.TryOpenReadOnly"/>): its envelope and journal, and its data.</summary>
/// <param name="OpenData">Opens the data where the message was found (its log record's copy, or its
/// file); throws <see cref="SpoolException"/> if the file went meanwhile.</param>
public sealed record ReadOnlyMessage(SpooledMessage Message, Func<Stream> OpenData);
