using System.Text;
using ActorMta.Spool;
using ActorMta.Tests.Queue;

namespace ActorMta.Tests.Spool;

/// <summary>
/// Random work on the spool, checked against a model of what it must hold. Four workers store
/// messages of random sizes (a few bypass the log), mark recipients delivered or failed, freeze
/// and thaw, and remove, all at once, on a log with the smallest segments and size limit, so that
/// segments are sealed, retired and their queued messages moved to files all the time, while
/// journal records and removals arrive for messages in every one of those places. Two checks:
/// <list type="bullet">
/// <item>while the workers run, a recovery (a restarted node or queue manager in the same process)
/// finds every message stored before it began and not removed before it ended, each once, and no
/// message whose removal was done before it began;</item>
/// <item>between phases, a copy of the spool directory opened as a new spool (a restart after the
/// process was killed) holds exactly the model's messages, each with its data byte for byte, its
/// recipients' states and its frozen flag.</item>
/// </list>
/// Fixed seeds, so a failure replays.
/// </summary>
public sealed class SpoolFuzzTests : IDisposable
{
    private const int Workers = 4;
    private const int OperationsPerWorker = 50;
    private const int Phases = 4;

    private readonly List<string> _copies = [];

    public void Dispose()
    {
        foreach (string copy in _copies)
        {
            try
            {
                Directory.Delete(copy, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>One message as the model knows it. Only its worker changes it.</summary>
    private sealed class Model(Envelope envelope, byte[] data)
    {
        public readonly Envelope Envelope = envelope;
        public readonly byte[] Data = data;
        public readonly RecipientState[] States = new RecipientState[envelope.Recipients.Count];
        public bool Frozen;

        /// <summary>When the store was acknowledged; when the removal began and ended (0: not yet).</summary>
        public long StoredAt, RemoveStartedAt, RemovedAt;

        public string Id => Envelope.MessageId;
    }

    private long _clock;

    /// <summary>A logical clock: every event the checks compare gets a later tick than the ones before it.</summary>
    private long Tick() => Interlocked.Increment(ref _clock);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Random_concurrent_work_on_a_small_log_loses_duplicates_and_resurrects_nothing(int seed)
    {
        // Segment and size limit at their minimum, a short interval so the segment in use is sealed
        // soon, and for odd seeds a short retention too, so moves to files also happen by age.
        using var f = new SpoolFixture(s => s with
        {
            Spool = s.Spool with
            {
                LogSegmentSize = 64 * 1024,
                LogSizeLimit = 128 * 1024,
                LogCheckpointInterval = TimeSpan.FromMilliseconds(100),
                LogRetention = seed % 2 == 1 ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromMinutes(15),
            },
        });
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var reports = new List<string>();
        log.Report = line => { lock (reports) reports.Add(line); };
        var random = new Random(seed);
        var all = new List<Model>();

        for (int phase = 0; phase < Phases; phase++)
        {
            var owned = Enumerable.Range(0, Workers).Select(w => all.Where((_, i) => i % Workers == w).ToList()).ToList();
            var workers = owned.Select(mine => RunWorkerAsync(f, new Random(random.Next()), mine)).ToList();
            // Recoveries one after another while the work goes on, then one more once it ended.
            var working = Task.WhenAll(workers);
            int recoveries = 0;
            while (!working.IsCompleted)
            {
                await CheckLiveRecoveryAsync(f, owned);
                recoveries++;
            }
            await working;
            await CheckLiveRecoveryAsync(f, owned);
            Assert.True(recoveries > 0, "no recovery ran while the workers did");

            all = [.. owned.SelectMany(m => m).Where(m => m.RemovedAt == 0).OrderBy(m => m.Id, StringComparer.Ordinal)];
            await QuietAsync(log);
            await CheckRestartAsync(f, log, all, $"seed {seed} phase {phase}");
        }

        Assert.True(Interlocked.Read(ref log.MovedToFiles) > 0, "no message moved to its own file: the test did not exercise the moves");
        Assert.True(Interlocked.Read(ref log.Checkpoints) > 0, "no segment retired");
        lock (reports) Assert.True(reports.Count == 0, "the spool log reported: " + string.Join(" / ", reports));
    }

    private async Task RunWorkerAsync(SpoolFixture f, Random random, List<Model> mine)
    {
        for (int i = 0; i < OperationsPerWorker; i++)
        {
            var live = mine.Where(m => m.RemovedAt == 0).ToList();
            int roll = random.Next(100);
            if (roll < 40 || live.Count == 0)
            {
                var envelope = f.NewEnvelope(Enumerable.Range(0, random.Next(1, 4)).Select(r => $"user{r}@test.example").ToArray());
                var data = RandomData(random);
                var model = new Model(envelope with { Size = data.Length }, data);
                lock (mine) mine.Add(model);
                await f.Spool.StoreAsync(model.Envelope, [data]);
                model.StoredAt = Tick();
                continue;
            }
            var target = live[random.Next(live.Count)];
            if (roll < 65)
            {
                int pending = Array.IndexOf(target.States, RecipientState.Pending);
                if (pending < 0) continue;
                if (random.Next(3) == 0)
                {
                    await f.Spool.MarkFailedAsync(target.Id, pending, new RecipientFailure("5.1.1", "mx.test.example", "smtp; 550 5.1.1 no such user", "no such user"));
                    target.States[pending] = RecipientState.Failed;
                }
                else
                {
                    await f.Spool.MarkRecipientAsync(target.Id, pending, RecipientState.Delivered);
                    target.States[pending] = RecipientState.Delivered;
                }
            }
            else if (roll < 75)
            {
                await f.Spool.SetFrozenAsync(target.Id, !target.Frozen, "root");
                target.Frozen = !target.Frozen;
            }
            else if (roll < 82)
            {
                // Not fsynced and not checked: it must only not disturb the rest.
                await f.Spool.SetNextAttemptAsync(target.Id, DateTimeOffset.UtcNow.AddMinutes(random.Next(1, 60)));
            }
            else
            {
                target.RemoveStartedAt = Tick();
                await f.Spool.RemoveDurablyAsync(target.Id);
                target.RemovedAt = Tick();
            }
        }
    }

    /// <summary>
    /// Mostly small messages (the log's), some of tens of kilobytes (a few to a segment), and now
    /// and then one over the log's record limit, which gets its own file at once.
    /// </summary>
    private static byte[] RandomData(Random random)
    {
        int roll = random.Next(100);
        int length = roll < 85 ? random.Next(0, 2_000) : roll < 98 ? random.Next(10_000, 40_000) : SpoolLog.MaxRecordPayload + random.Next(1, 10_000);
        var data = new byte[length];
        random.NextBytes(data);
        return data;
    }

    private async Task CheckLiveRecoveryAsync(SpoolFixture f, List<List<Model>> owned)
    {
        long began = Tick();
        var found = await Task.Run(() => f.Reopen().Recover().Select(m => m.Id).ToList());
        long ended = Tick();
        Assert.Equal(found.Count, found.Distinct(StringComparer.Ordinal).Count());
        var seen = found.ToHashSet(StringComparer.Ordinal);
        // The workers change the models meanwhile; a copy of each list under its worker's feet could
        // throw, so read them only as the ticks allow: a model is added before its store begins.
        foreach (var mine in owned)
        {
            Model[] models;
            lock (mine) models = [.. mine];
            foreach (var m in models)
            {
                long storedAt = Interlocked.Read(ref m.StoredAt), removeStartedAt = Interlocked.Read(ref m.RemoveStartedAt), removedAt = Interlocked.Read(ref m.RemovedAt);
                if (storedAt != 0 && storedAt < began && (removeStartedAt == 0 || removeStartedAt > ended))
                    Assert.True(seen.Contains(m.Id), $"recovery missed {m.Id}, stored before it began and not removed");
                if (removedAt != 0 && removedAt < began)
                    Assert.False(seen.Contains(m.Id), $"recovery found {m.Id}, removed before it began");
            }
        }
    }

    /// <summary>The log's work done so far: commits, segments retired, messages moved to files.</summary>
    private static (long, long, long) Work(SpoolLog log)
        => (Interlocked.Read(ref log.Commits), Interlocked.Read(ref log.Checkpoints), Interlocked.Read(ref log.MovedToFiles));

    /// <summary>
    /// Waits until the log has done no work for a while. Its timer still starts retiring passes
    /// while a sealed segment waits for its queued messages; those find nothing to do.
    /// </summary>
    private static async Task QuietAsync(SpoolLog log)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var before = Work(log);
        while (true)
        {
            await Task.Delay(400);
            var now = Work(log);
            if (now == before && !log.Retiring) return;
            Assert.True(DateTime.UtcNow < deadline, "the spool log did not come to rest");
            before = now;
        }
    }

    private static async Task NotRetiringAsync(SpoolLog log)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (log.Retiring)
        {
            Assert.True(DateTime.UtcNow < deadline, "the spool log's retiring pass did not end");
            await Task.Delay(5);
        }
    }

    private async Task CheckRestartAsync(SpoolFixture f, SpoolLog log, List<Model> expected, string what)
    {
        // A copy is not taken at one instant: it is kept only if no retiring pass did any work
        // while it was taken (the timer's empty passes may run).
        string image;
        while (true)
        {
            await NotRetiringAsync(log);
            var before = Work(log);
            image = CrashImage(f.Settings.Spool.Directory);
            await NotRetiringAsync(log);
            if (Work(log) == before) break;
        }
        var spool = new MessageSpool(new Configuration.SpoolSettings(image, Fsync: true));
        var recovered = spool.Recover().ToList();
        Assert.Equal(expected.Select(m => m.Id), recovered.Select(m => m.Id));
        foreach (var (model, message) in expected.Zip(recovered))
        {
            Assert.True(model.States.SequenceEqual(message.Recipients), $"{what}: {model.Id} recipients {string.Join(",", message.Recipients)}, expected {string.Join(",", model.States)}");
            Assert.True(model.Frozen == message.Frozen, $"{what}: {model.Id} frozen {message.Frozen}, expected {model.Frozen}");
            Assert.Equal(model.Envelope.Sender, message.Envelope.Sender);
            Assert.True(model.Data.AsSpan().SequenceEqual(SpoolFixture.DataOf(spool, model.Id)), $"{what}: {model.Id} data differs");
        }
    }

    /// <summary>A copy of the spool directory: what a restart after the process was killed finds.</summary>
    private string CrashImage(string from)
    {
        string to = Path.Combine(Path.GetTempPath(), "actormta-spoolfuzz-" + Guid.NewGuid().ToString("N")[..12]);
        _copies.Add(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        Directory.CreateDirectory(Path.Combine(to, "input"));
        return to;
    }
}
