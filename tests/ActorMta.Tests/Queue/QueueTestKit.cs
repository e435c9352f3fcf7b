using Akka.Configuration;
using ActorMta.Destinations;
using ActorMta.Tests.Support;
using Microsoft.Data.Sqlite;
using TestKitBase = Akka.TestKit.Xunit2.TestKit;

namespace ActorMta.Tests.Queue;

/// <summary>
/// Akka's TestKit for tests that run the queue with the real destinations: their SQLite journal
/// in a directory of the test's own, and the scripted servers and spool fixture the test makes,
/// disposed after it.
/// </summary>
public abstract class QueueTestKit : TestKitBase, IAsyncLifetime
{
    private readonly string _directory;
    private readonly List<IAsyncDisposable> _servers = [];

    protected QueueTestKit(string systemName) : this(NewDirectory(), systemName) { }

    private QueueTestKit(string directory, string systemName)
        : base(ConfigurationFactory.ParseString("akka.loglevel = WARNING")
            .WithFallback(DestinationPersistence.Config(Path.Combine(directory, "destinations.db"))), systemName)
    {
        _directory = directory;
    }

    /// <summary>The spool, maildir and main log the test made, if any.</summary>
    protected SpoolFixture? Fixture { get; set; }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "actormta-queue-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>A scripted SMTP server on loopback, stopped after the test.</summary>
    protected FakeSmtpServer Server(Func<FakeConnection, int, Task> script)
    {
        var server = new FakeSmtpServer(script);
        _servers.Add(server);
        return server;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers) await server.DisposeAsync();
        Fixture?.Dispose();
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
