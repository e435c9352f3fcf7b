namespace ActorMta.Spool;

/// <summary>
/// The spool could not do what was asked (disk full, permissions, a corrupt file, ...).
/// The message says why in words an operator can act on. When thrown by
/// <see cref="MessageSpool.StoreAsync"/>, nothing of the message is left on disk.
/// </summary>
public sealed class SpoolException : Exception
{
    public SpoolException(string message) : base(message) { }

    public SpoolException(string message, Exception innerException) : base(message, innerException) { }
}
