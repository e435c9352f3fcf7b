using System.Text;
using ActorMta.Configuration;
using ActorMta.Logging;
using ActorMta.Spool;
using ActorMta.Tests.Support;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace ActorMta.Tests.Queue;

/// <summary>Collects rendered main-log lines in memory (what the file sink would write after the timestamp).</summary>
public sealed class ListSink : ILogEventSink
{
    private readonly List<string> _lines = [];
    private readonly List<DateTimeOffset> _times = [];

    public void Emit(LogEvent logEvent)
    {
        lock (_lines)
        {
            _lines.Add(logEvent.RenderMessage());
            _times.Add(logEvent.Timestamp);
        }
    }

    /// <summary>When the first line satisfying <paramref name="match"/> was written.</summary>
    public DateTimeOffset TimeOf(Func<string, bool> match)
    {
        lock (_lines) return _times[_lines.FindIndex(l => match(l))];
    }

    public string[] Lines
    {
        get
        {
            lock (_lines) return [.. _lines];
        }
    }
}

/// <summary>
/// A temporary directory with a spool, maildir root and in-memory main log; deleted on dispose.
/// </summary>
public sealed class SpoolFixture : IDisposable
{
    public static readonly byte[] SampleData = Encoding.ASCII.GetBytes(
        "Received: from client.example by mx.test.example\r\nFrom: <alice@remote.example>\r\nSubject: hello\r\n\r\nHi there.\r\n.. a dot-stuffed line undone\r\n");

    public SpoolFixture(Func<MtaSettings, MtaSettings>? adjust = null)
    {
        Root = Path.Combine(Path.GetTempPath(), "actormta-spooltest-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        var settings = TestMta.DefaultSettings(Root) with
        {
            Queue = new QueueSettings(TimeSpan.FromMinutes(15), TimeSpan.FromDays(4), 4),
        };
        Settings = adjust is null ? settings : adjust(settings);
        Spool = new MessageSpool(Settings.Spool);
        MainLog = new MainLog(new LoggerConfiguration().WriteTo.Sink(Sink).CreateLogger());
    }

    public string Root { get; }
    public MtaSettings Settings { get; }
    public MessageSpool Spool { get; }
    public ListSink Sink { get; } = new();
    public MainLog MainLog { get; }

    public string InputDirectory => Path.Combine(Settings.Spool.Directory, "input");
    public string MaildirRoot => Settings.LocalDelivery.MaildirRoot;

    /// <summary>A fresh spool object on the same directory, as after a restart.</summary>
    public MessageSpool Reopen() => new(Settings.Spool);

    public Envelope NewEnvelope(params string[] recipients) => NewEnvelope(DateTimeOffset.UtcNow, recipients);

    public Envelope NewEnvelope(DateTimeOffset receivedAt, params string[] recipients) => new(
        MessageId: Spool.NewMessageId(),
        Sender: "alice@remote.example",
        Recipients: recipients.Select(r => new EnvelopeRecipient(r, null, null)).ToArray(),
        ReceivedAt: receivedAt,
        HeloName: "client.example",
        ClientAddress: "192.0.2.7",
        ClientPort: 40000,
        Protocol: "esmtp",
        Body: null,
        SmtpUtf8: false,
        Ret: null,
        EnvId: null,
        HeaderMessageId: null,
        Size: SampleData.Length);

    public async Task<Envelope> StoreAsync(params string[] recipients)
    {
        var envelope = NewEnvelope(recipients);
        await Spool.StoreAsync(envelope, [SampleData]);
        return envelope;
    }

    /// <summary>Every file under the spool directory (relative paths) but the write-ahead log's segments,
    /// which are always there and say nothing about the messages.</summary>
    public string[] SpoolFiles() => Files(Settings.Spool.Directory).Where(f => !f.StartsWith("log/", StringComparison.Ordinal)).ToArray();

    /// <summary>Every file in a user's maildir (relative to the maildir, e.g. "new/123.id_0.host").</summary>
    public string[] MaildirFiles(string user) => Files(Path.Combine(MaildirRoot, user));

    /// <summary>The data of a spooled message, read through <see cref="MessageSpool.OpenData"/>.</summary>
    public static byte[] DataOf(MessageSpool spool, string messageId)
    {
        using var data = spool.OpenData(messageId);
        using var copy = new MemoryStream();
        data.CopyTo(copy);
        return copy.ToArray();
    }

    public static byte[] Expected(string sender, string recipient, byte[] data)
        => [.. Encoding.ASCII.GetBytes($"Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n"), .. data];

    private static string[] Files(string directory)
        => Directory.Exists(directory)
            ? Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal)
                .ToArray()
            : [];

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
