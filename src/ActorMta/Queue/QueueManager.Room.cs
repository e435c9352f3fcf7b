using ActorMta.Spool;

namespace ActorMta.Queue;

/// <summary>
/// Attempts aborted because the spool's disk was full. Such an attempt may well have delivered
/// (a maildir on another disk, a remote host) and only failed to record it; waiting the whole
/// <c>queue.retry-interval</c> after the operator made room would leave the queue idle for
/// nothing. So while any wait, the free space is read every <c>queue.room-check-interval</c>, and
/// once there is room they are all made ready, oldest first. Their retry times stay as the
/// fallback: a disk that never gets room still sees them tried at the interval.
/// </summary>
public sealed partial class QueueManager
{
    private const string RoomTimer = "room";

    private sealed record RoomCheckDue
    {
        public static readonly RoomCheckDue Instance = new();
    }

    private readonly SortedSet<string> _waitingForRoom = new(StringComparer.Ordinal);

    private void WaitForRoom(string id)
    {
        if (_waitingForRoom.Count == 0)
            Timers.StartPeriodicTimer(RoomTimer, RoomCheckDue.Instance, _settings.Queue.RoomCheckInterval);
        _waitingForRoom.Add(id);
    }

    private void OnRoomCheckDue()
    {
        // Gone, or attempted meanwhile (a retry time, a queue run, the operator): no longer waiting.
        _waitingForRoom.RemoveWhere(id => !_entries.TryGetValue(id, out var entry) || entry.InFlight || entry.NextAttempt is null);
        if (_waitingForRoom.Count == 0)
        {
            Timers.Cancel(RoomTimer);
            return;
        }
        if (_spool.Space.IsShort(out long free)) return;
        Timers.Cancel(RoomTimer);
        _mainLog.Write($"spool has room again ({SpoolSpace.MiB(free)} MiB free): trying {_waitingForRoom.Count} message(s) whose delivery attempt the full disk aborted");
        foreach (string id in _waitingForRoom) MakeReady(id, _entries[id]);
        _waitingForRoom.Clear();
        Dispatch();
    }
}
