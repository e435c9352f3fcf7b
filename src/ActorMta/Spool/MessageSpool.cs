using ActorMta.Configuration;

namespace ActorMta.Spool;

/// <summary>
/// The durable message spool. (Skeleton: the durable implementation follows.)
/// </summary>
public sealed class MessageSpool
{
    private readonly SpoolSettings _settings;

    /// <summary>Opens (creating if missing) the spool directory tree.</summary>
    public MessageSpool(SpoolSettings settings)
    {
        _settings = settings;
        Directory = Path.GetFullPath(settings.Directory);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>Absolute path of the spool root.</summary>
    public string Directory { get; }

    /// <summary>New unique spool id, Exim 4.96 style (<c>XXXXXX-YYYYYY-ZZ</c>, base62).</summary>
    public string NewMessageId() => throw new NotImplementedException();

    /// <summary>Durably stores envelope and data; the task completes only once both survive a crash.</summary>
    /// <exception cref="SpoolException">The message could not be stored; nothing was left behind.</exception>
    public Task StoreAsync(Envelope envelope, IReadOnlyList<ReadOnlyMemory<byte>> data, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Everything in the spool, with per-recipient state from each journal.</summary>
    public IEnumerable<SpooledMessage> Recover() => throw new NotImplementedException();

    /// <summary>Opens the message data (read-only stream positioned at its first byte).</summary>
    public Stream OpenData(string messageId) => throw new NotImplementedException();

    /// <summary>Appends "recipient done" to the journal and fsyncs it before returning.</summary>
    public Task MarkRecipientAsync(string messageId, int recipientIndex, RecipientState state, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Records the next retry time in the journal (not fsynced: losing it only means an earlier retry).</summary>
    public Task SetNextAttemptAsync(string messageId, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Removes a finished message from the spool.</summary>
    public void Remove(string messageId) => throw new NotImplementedException();

    internal SpoolSettings Settings => _settings;
}
