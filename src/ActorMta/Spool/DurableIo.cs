using System.Collections.Concurrent;

namespace ActorMta.Spool;

/// <summary>
/// Blocking file-system work (write + fsync, rename, directory fsync) for the spool and the local
/// delivery, run on a small set of dedicated threads so that
/// <list type="bullet">
/// <item>many fsyncs are in flight at once (the file system commits concurrent fsyncs together), and</item>
/// <item>the .NET thread pool, which runs the actors, is never blocked on the disk.</item>
/// </list>
/// </summary>
internal static class DurableIo
{
    /// <summary>Threads that may sit in fsync at the same time. An fsync costs ~1 ms of waiting and
    /// almost no CPU, so this is about disk concurrency, not cores.</summary>
    public static readonly int ThreadCount = Math.Max(64, Environment.ProcessorCount * 16);

    private static readonly WorkQueue Work = StartThreads();

    private static WorkQueue StartThreads()
    {
        var work = new WorkQueue();
        for (int i = 0; i < ThreadCount; i++)
        {
            new Thread(work.RunWorker)
            {
                IsBackground = true,
                Name = $"spool-io-{i}",
            }.Start();
        }
        return work;
    }

    /// <summary>
    /// The I/O threads' queue. Not a BlockingCollection: its SemaphoreSlim spins (sched_yield) before
    /// it blocks, and with dozens of idle I/O threads each finished item made a thread spin for the
    /// next one. On two shared cores that spinning took a fifth of the CPU under load. Here an idle
    /// thread blocks in Monitor.Wait at once; Add wakes one only when one is idle.
    /// </summary>
    private sealed class WorkQueue
    {
        private readonly Queue<Action> _items = new();
        private int _idle;

        public void Add(Action item)
        {
            lock (_items)
            {
                _items.Enqueue(item);
                if (_idle > 0) Monitor.Pulse(_items);
            }
        }

        public void RunWorker()
        {
            while (true)
            {
                Action item;
                lock (_items)
                {
                    while (_items.Count == 0)
                    {
                        _idle++;
                        Monitor.Wait(_items);
                        _idle--;
                    }
                    item = _items.Dequeue();
                }
                item();
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on an I/O thread; the task carries its result or exception.</summary>
    public static Task<T> Run<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                tcs.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                tcs.TrySetResult(work());
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                tcs.TrySetCanceled(e.CancellationToken);
            }
            catch (Exception e)
            {
                tcs.TrySetException(e);
            }
        });
        return tcs.Task;
    }

    /// <summary>Runs <paramref name="work"/> on an I/O thread.</summary>
    public static Task Run(Action work, CancellationToken cancellationToken = default)
        => Run(() => { work(); return true; }, cancellationToken);

    /// <summary>Queues a long-running loop (a group-commit batch loop) on an I/O thread.</summary>
    public static void Post(Action work) => Work.Add(work);
}

/// <summary>
/// Group commit of directory fsyncs. Every caller has already renamed (or created) its file in the
/// directory; it calls <see cref="SyncAsync"/> and its task completes after an fsync of the
/// directory that STARTED after the call. While one fsync runs, new callers gather into the next
/// batch, so under load one fsync makes many renames durable at once.
/// </summary>
internal sealed class DirectorySync
{
    private static readonly ConcurrentDictionary<string, DirectorySync> ByPath = new(StringComparer.Ordinal);

    private readonly string _path;
    private readonly object _gate = new();
    private List<TaskCompletionSource>? _next;
    private bool _running;

    private DirectorySync(string path) => _path = path;

    /// <summary>The one syncer for <paramref name="directory"/> (a full path) in this process.</summary>
    public static DirectorySync For(string directory) => ByPath.GetOrAdd(directory, static p => new DirectorySync(p));

    /// <summary>Number of directory fsyncs done (for measurements).</summary>
    public long Batches;

    public Task SyncAsync()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (_gate)
        {
            (_next ??= []).Add(waiter);
            start = !_running;
            _running = true;
        }
        if (start) DurableIo.Post(RunBatches);
        return waiter.Task;
    }

    private void RunBatches()
    {
        while (true)
        {
            List<TaskCompletionSource> batch;
            lock (_gate)
            {
                if (_next is null || _next.Count == 0)
                {
                    _running = false;
                    return;
                }
                batch = _next;
                _next = null;
            }
            Exception? error = null;
            try
            {
                FileSync.Directory(_path);
                Interlocked.Increment(ref Batches);
            }
            catch (Exception e)
            {
                error = e;
            }
            foreach (var waiter in batch)
            {
                if (error is null) waiter.TrySetResult();
                else waiter.TrySetException(error);
            }
        }
    }
}
