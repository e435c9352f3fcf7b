using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using ActorMta.Destinations;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using TestKitBase = Akka.TestKit.Xunit2.TestKit;

namespace ActorMta.Tests.Destinations;

/// <summary>
/// A TestKit on a real SQLite file of its own (stack.md pitfall C). <see cref="RestartAsync"/> stops
/// the current ActorSystem and starts a new one on the same file, so a test sees only what was
/// persisted. <see cref="Parent"/> is <c>/user/destinations</c> in the <see cref="Current"/> system.
/// </summary>
public abstract class PersistentDestinationTestKit : TestKitBase
{
    protected static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    // Generous: the first message in a new ActorSystem starts the SQL plugins, and the test machine is shared.
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly List<ActorSystem> _extraSystems = [];
    private int _generation;

    protected PersistentDestinationTestKit(ITestOutputHelper output, DestinationSettings? settings = null)
        : this(output, NewDirectory(), settings)
    {
    }

    private PersistentDestinationTestKit(ITestOutputHelper output, string directory, DestinationSettings? settings)
        : base(SystemConfig(Path.Combine(directory, "destinations.db")), "dest0", output)
    {
        TestDirectory = directory;
        DatabaseFile = Path.Combine(directory, "destinations.db");
        Settings = settings ?? new DestinationSettings(
            MaxConnections: 20,
            RetryDataExpire: TimeSpan.FromDays(7),
            PassivateAfter: TimeSpan.FromMinutes(5),
            HostRetryInitial: TimeSpan.FromMinutes(1),
            HostRetryMax: TimeSpan.FromHours(1));
        Current = Sys;
        Parent = Current.ActorOf(global::ActorMta.Destinations.Destinations.Props(Settings, Clock), "destinations");
    }

    protected string TestDirectory { get; }
    protected string DatabaseFile { get; }
    protected DestinationSettings Settings { get; }
    protected ManualClock Clock { get; } = new(Start);
    protected ActorSystem Current { get; private set; }
    protected IActorRef Parent { get; private set; }

    protected static DestinationKey Key(string address, int port = 25) => new(IPAddress.Parse(address), port);

    public static Config SystemConfig(string databaseFile) =>
        ConfigurationFactory.ParseString("""
                akka.loglevel = INFO
                akka.loggers = ["Akka.TestKit.TestEventListener, Akka.TestKit"]
                akka.log-dead-letters = off
                """)
            .WithFallback(DestinationPersistence.Config(databaseFile));

    /// <summary>Stops the current ActorSystem and starts a new one on the same database file.</summary>
    protected async Task RestartAsync()
    {
        await Current.Terminate();
        Current = ActorSystem.Create("dest" + ++_generation, SystemConfig(DatabaseFile));
        _extraSystems.Add(Current);
        Parent = Current.ActorOf(global::ActorMta.Destinations.Destinations.Props(Settings, Clock), "destinations");
    }

    protected TestProbe NewSession(string? name = null) => CreateTestProbe(Current, name);

    protected Task<DestinationState> StateAsync(DestinationKey key) =>
        Parent.Ask<DestinationState>(new GetDestinationState(key), Wait);

    /// <summary>The state a fresh ActorSystem recovers from the database.</summary>
    protected async Task<DestinationState> PersistedStateAsync(DestinationKey key)
    {
        await RestartAsync();
        return await StateAsync(key);
    }

    protected LeaseGranted Acquire(DestinationKey key, string sessionId, TestProbe session)
    {
        Parent.Tell(new AcquireLease(key, sessionId), session.Ref);
        return session.ExpectMsg<LeaseGranted>(Wait);
    }

    protected LeaseRefused AcquireRefused(DestinationKey key, string sessionId, TestProbe session)
    {
        Parent.Tell(new AcquireLease(key, sessionId), session.Ref);
        return session.ExpectMsg<LeaseRefused>(Wait);
    }

    /// <summary>Tells <paramref name="message"/> as <paramref name="session"/>, then waits until the
    /// destination has processed (and persisted) it: a persistent actor stashes commands behind a persist.</summary>
    protected async Task<DestinationState> SendAsync(IDestinationMessage message, TestProbe? session = null)
    {
        Parent.Tell(message, session?.Ref ?? ActorRefs.NoSender);
        return await StateAsync(message.Key);
    }

    protected SqliteConnection OpenDatabase()
    {
        var connection = new SqliteConnection($"Data Source={DatabaseFile};Mode=ReadOnly");
        connection.Open();
        return connection;
    }

    protected List<T> Query<T>(string sql, Func<SqliteDataReader, T> read)
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
            rows.Add(read(reader));
        return rows;
    }

    protected override void Dispose(bool disposing)
    {
        try
        {
            foreach (var system in _extraSystems)
                system.Terminate().Wait(Wait);
            base.Dispose(disposing);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(TestDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "actormta-dest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        DestinationPersistence.PrepareSqlite(Path.Combine(directory, "destinations.db"));
        return directory;
    }
}
