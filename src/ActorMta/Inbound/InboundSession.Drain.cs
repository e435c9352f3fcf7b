namespace ActorMta.Inbound;

/// <summary>
/// Stopping without losing or doubling a message: a client in the middle of one (its data, its
/// chunks, its store) finishes it and gets its reply, so it does not send again what was spooled;
/// then, or at once for a client between messages, 421 (RFC 5321 section 3.8) and the close.
/// </summary>
public sealed partial class InboundSession
{
    /// <summary>From the listener, when the MTA stops: end the session at the next point between messages.</summary>
    public sealed class Drain
    {
        public static readonly Drain Instance = new();
        private Drain() { }
    }

    /// <summary>To whoever asked for <see cref="Drain"/>: every session of the listener (or group) has ended.</summary>
    public sealed class Drained
    {
        public static readonly Drained Instance = new();
        private Drained() { }
    }

    /// <summary>Draining and between messages (nothing being written): 421 and close. True when it did.</summary>
    private bool CloseIfDrained()
    {
        if (!_draining || _closeAfterFlush || _writePending) return false;
        // Data, chunks, a store or a TLS handshake under way, or an open BDAT sequence: not yet.
        if (_mode != Mode.Command || _transaction.UsedChunking) return false;
        Reply(Replies.ShuttingDown(_hostname));
        CloseAfterFlush();
        return true;
    }
}
