using System.Buffers;
using Akka.Actor;
using ActorMta.Transport;

namespace ActorMta.Inbound;

public sealed partial class InboundSession
{
    /// <summary>
    /// The session's reads, each delivered to it as one <see cref="InputReady"/> or
    /// <see cref="InputFailed"/> message. The socket's ValueTask is awaited through one cached
    /// callback: no Task, no PipeTo state machine and no ExecutionContext capture per read, which
    /// a lock-step client pays four times per message.
    /// </summary>
    /// <remarks>
    /// Without a buffer the read is a zero-byte wait first (an idle session holds no receive
    /// buffer) and the buffer is rented only when bytes have arrived. The session starts one read at
    /// a time and touches nothing here until the read's message reaches it.
    /// </remarks>
    private sealed class Reader
    {
        private readonly Connection _connection;
        private readonly IActorRef _session;
        private readonly Action _onCompleted;
        private ValueTask<int> _pending;
        private byte[]? _buffer;
        private int _start;
        private volatile bool _told;

        public Reader(Connection connection, IActorRef session)
        {
            _connection = connection;
            _session = session;
            _onCompleted = OnCompleted;
        }

        /// <summary>Reads into <paramref name="buffer"/> from <paramref name="start"/>; with no buffer, waits for input first.</summary>
        public void Start(byte[]? buffer, int start)
        {
            _told = false;
            _buffer = buffer;
            _start = start;
            Continue();
        }

        /// <summary>The read has ended and its message is in (or on its way to) the session's
        /// mailbox: a timer message ahead of it must not end the session (see OnTimeout).</summary>
        public bool ResultOnItsWay => _told;

        private void Continue()
        {
            while (true)
            {
                ValueTask<int> read;
                try
                {
                    read = _buffer is null ? _connection.WaitForInputAsync() : _connection.ReadAsync(_buffer.AsMemory(_start));
                }
                catch (Exception e)
                {
                    Fail(e);
                    return;
                }
                if (!read.IsCompleted)
                {
                    _pending = read;
                    // No context to capture: the callback only hands the result to the session's mailbox.
                    read.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onCompleted);
                    return;
                }
                if (!Complete(read)) return;
            }
        }

        private void OnCompleted()
        {
            var read = _pending;
            _pending = default;
            if (Complete(read)) Continue();
        }

        /// <summary>Takes the result; true when it ended the zero-byte wait and the real read must follow.</summary>
        private bool Complete(ValueTask<int> read)
        {
            int count;
            try
            {
                count = read.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                Fail(e);
                return false;
            }
            if (_buffer is null)
            {
                _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
                _start = 0;
                return true;
            }
            var buffer = _buffer;
            _buffer = null;
            _told = true;
            _session.Tell(new InputReady(buffer, count));
            return false;
        }

        private void Fail(Exception error)
        {
            // A buffer the session passed in is still the session's, which returns it to the pool
            // when it stops; one rented here is left to the collector (the pool does not need it back).
            _buffer = null;
            _told = true;
            _session.Tell(new InputFailed(error));
        }
    }
}
