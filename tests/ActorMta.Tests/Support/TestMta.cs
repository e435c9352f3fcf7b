using System.Net;
using Akka.Configuration;
using ActorMta.Configuration;
using ActorMta.Logging;
using ActorMta.Smtp;
using Serilog;
using Serilog.Events;

namespace ActorMta.Tests.Support;

/// <summary>
/// A real ActorMta node in the test process: real loopback socket, real spool and maildirs in a
/// temporary directory, the main log written to a real file that tests read.
/// </summary>
public sealed class TestMta : IAsyncDisposable
{
    public const string Hostname = "mx.test.example";

    private readonly Serilog.Core.Logger _logger;

    private TestMta(string directory, MtaSettings settings, MtaNode node, Serilog.Core.Logger logger)
    {
        Directory = directory;
        Settings = settings;
        Node = node;
        _logger = logger;
    }

    public string Directory { get; }

    /// <summary>Leave the data directory on dispose (the test restarts a node on it, then cleans up).</summary>
    public bool KeepDirectory { get; set; }
    public MtaSettings Settings { get; }
    public MtaNode Node { get; }
    public IPEndPoint EndPoint => Node.BoundEndPoints[0];
    public string MainLogPath => Path.Combine(Directory, "log", "mainlog");

    /// <summary>Settings as an operator would have them, with test-friendly paths; <paramref name="adjust"/> changes what a test needs.</summary>
    public static MtaSettings DefaultSettings(string directory) => new(
        PrimaryHostname: Hostname,
        DataDirectory: directory,
        Smtp: new SmtpServerSettings(
            Banner: "$primary_hostname ESMTP ActorMta",
            PipeliningAdvertiseHosts: HostList.Parse(["*"]),
            PipeliningConnectAdvertiseHosts: HostList.Parse(["*"]),
            PipeConnectKeywords: ["PIPECONNECT"],
            ChunkingAdvertiseHosts: HostList.Parse(["*"]),
            MaxCommandLineLength: 2048,
            MaxTextLineLength: 1000,
            MaxMessageSize: 1024 * 1024,
            MaxRecipients: 100,
            MaxMessagesPerConnection: 100,
            MaxConnections: 1000,
            MaxConnectionsPerIp: 1000,
            MaxBadCommands: 5,
            IdleTimeout: TimeSpan.FromMinutes(1),
            DataTimeout: TimeSpan.FromMinutes(1),
            BareLineEndings: BareLineEndingPolicy.Reject),
        Listeners: [new ListenerSettings(new IPEndPoint(IPAddress.Loopback, 0))],
        Policy: new PolicySettings(
            LocalDomains: DomainList.Parse(["test.example", Hostname]),
            RelayToDomains: DomainList.Parse(["relay.example"]),
            RelayFromHosts: HostList.Parse([]),
            LocalUsers: new HashSet<string>()),
        Spool: new SpoolSettings(Path.Combine(directory, "spool"), Fsync: true),
        LocalDelivery: new LocalDeliverySettings(Path.Combine(directory, "maildir")),
        Queue: new QueueSettings(TimeSpan.FromMinutes(15), TimeSpan.FromDays(4), 4),
        Log: new LogSettings(Path.Combine(directory, "log", "mainlog"), null, false, true));

    /// <param name="directory">An existing data directory to start on (a restart); it is then left in place on dispose.</param>
    /// <param name="akka">More Akka configuration (HOCON), such as a dispatcher a test needs.</param>
    public static async Task<TestMta> StartAsync(Func<MtaSettings, MtaSettings>? adjust = null, string? directory = null, string? akka = null)
    {
        var keep = directory is not null;
        directory ??= Path.Combine(Path.GetTempPath(), "actormta-test-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var settings = DefaultSettings(directory);
        if (adjust is not null) settings = adjust(settings);

        var logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.Logger(l => l
                .Filter.ByIncludingOnly(e => e.Properties.ContainsKey(MainLog.Property))
                .WriteTo.File(settings.Log.MainLogPath!, outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss} {Message:l}{NewLine}"))
            .CreateLogger();
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING\n" + akka);
        var node = await MtaNode.StartAsync(settings, config, logger);
        return new TestMta(directory, settings, node, logger) { KeepDirectory = keep };
    }

    public Task<RawSmtpClient> ConnectAsync() => RawSmtpClient.ConnectAsync(EndPoint);

    /// <summary>A client past the banner and <c>EHLO client.test</c>, ready for MAIL.</summary>
    public async Task<RawSmtpClient> GreetedAsync()
    {
        var client = await ConnectAsync();
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        return client;
    }

    public string[] MainLogLines()
    {
        if (!File.Exists(MainLogPath)) return [];
        using var stream = new FileStream(MainLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Waits for a main-log line containing all the given fragments.</summary>
    public async Task<string> WaitForLogLineAsync(params string[] fragments)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var line = MainLogLines().FirstOrDefault(l => fragments.All(f => l.Contains(f, StringComparison.Ordinal)));
            if (line is not null) return line;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no main-log line with [{string.Join("] [", fragments)}]; log:\n{string.Join('\n', MainLogLines())}");
            await Task.Delay(20);
        }
    }

    public string MaildirNew(string user) => Path.Combine(Settings.LocalDelivery.MaildirRoot, user, "new");

    /// <summary>Waits until the user's maildir holds <paramref name="count"/> messages and returns their contents.</summary>
    public async Task<string[]> WaitForMaildirAsync(string user, int count = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var dir = MaildirNew(user);
            var files = System.IO.Directory.Exists(dir) ? System.IO.Directory.GetFiles(dir) : [];
            if (files.Length >= count) return files.OrderBy(f => f, StringComparer.Ordinal).Select(File.ReadAllText).ToArray();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{dir} has {files.Length} of {count} messages");
            await Task.Delay(20);
        }
    }

    /// <summary>Files under the spool directory but the write-ahead log's segments (always there).</summary>
    public int SpooledFileCount() =>
        System.IO.Directory.Exists(Settings.Spool.Directory)
            ? System.IO.Directory.GetFiles(Settings.Spool.Directory, "*", SearchOption.AllDirectories)
                .Count(f => Path.GetFileName(Path.GetDirectoryName(f)) != "log" && Path.GetFileName(f) != ActorMta.Spool.SpoolLock.FileName)
            : 0;

    public async ValueTask DisposeAsync()
    {
        await Node.StopAsync();
        await _logger.DisposeAsync();
        if (KeepDirectory) return;
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
