using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using AkkaLogEvent = Akka.Event.LogEvent;
using ActorMta.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Filters;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;
using LogEvent = Serilog.Events.LogEvent;

namespace ActorMta.Logging;

/// <summary>
/// Builds the process's Serilog logger from <see cref="LogSettings"/>:
/// <list type="bullet">
/// <item>the main log file gets only events carrying <see cref="MainLog.Property"/>, in Exim's
/// layout (<see cref="MainLogTemplate"/>, local time as Exim writes it), so exigrep and eximstats work;</item>
/// <item>the console gets every event in a human layout;</item>
/// <item>the optional JSON file gets every event as compact JSON (CLEF), one per line.</item>
/// </list>
/// Akka's own logging reaches the same logger through <see cref="AkkaSerilogLogger"/>
/// (named in <c>akka.loggers</c> of the embedded reference.conf).
/// </summary>
public static class LoggingSetup
{
    /// <summary>Exim's main log line: "2026-11-29 12:00:00 1vQ2ab-000001-AB &lt;= a@example.com ...".</summary>
    public const string MainLogTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss} {Message:l}{NewLine}";

    /// <summary>The console layout.</summary>
    public const string ConsoleTemplate = "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Creates the logger. Files and their folders are created as needed. The caller owns the result
    /// and must dispose it at exit so file buffers are flushed.
    /// </summary>
    /// <param name="settings">Which sinks, and where.</param>
    /// <param name="minimumLevel">Events below this level are dropped everywhere (main-log lines are Information).</param>
    /// <param name="console">Where console output goes; null: the process's standard output.</param>
    public static Logger CreateLogger(LogSettings settings, LogEventLevel minimumLevel = LogEventLevel.Information, TextWriter? console = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(minimumLevel)
            .Enrich.FromLogContext();

        if (settings.MainLogPath is { } mainLog)
        {
            CreateFolderOf(mainLog);
            configuration = configuration.WriteTo.Logger(sub => sub
                .Filter.ByIncludingOnly(Matching.WithProperty(MainLog.Property))
                .WriteTo.Sink(LogFile(mainLog, new MessageTemplateTextFormatter(MainLogTemplate, System.Globalization.CultureInfo.InvariantCulture))));
        }

        if (settings.Console)
        {
            configuration = console is null
                ? configuration.WriteTo.Console(outputTemplate: ConsoleTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture)
                : configuration.WriteTo.Sink(new TextWriterSink(console));
        }

        if (settings.JsonLogPath is { } jsonLog)
        {
            CreateFolderOf(jsonLog);
            configuration = configuration.WriteTo.Sink(LogFile(jsonLog, new CompactJsonFormatter()));
        }

        return configuration.CreateLogger();
    }

    /// <summary>Makes <paramref name="logger"/> the target of Akka's log events (via <see cref="Log.Logger"/>).</summary>
    public static void UseForAkka(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        Log.Logger = logger;
    }

    /// <summary>A log file that follows its rotation (<see cref="RotatableLogFile"/>); Serilog's own file sink off Linux.</summary>
    private static ILogEventSink LogFile(string path, ITextFormatter formatter) =>
        OperatingSystem.IsLinux()
            ? new RotatableLogFile(path, formatter)
            : new LoggerConfiguration().WriteTo.File(formatter, path).CreateLogger();

    private static void CreateFolderOf(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
    }

    /// <summary>Console template rendering into a given writer (tests, or a redirected console).</summary>
    private sealed class TextWriterSink(TextWriter writer) : ILogEventSink
    {
        private readonly Serilog.Formatting.Display.MessageTemplateTextFormatter _formatter =
            new(ConsoleTemplate, System.Globalization.CultureInfo.InvariantCulture);

        public void Emit(LogEvent logEvent)
        {
            lock (writer)
            {
                _formatter.Format(logEvent, writer);
                writer.Flush();
            }
        }
    }
}

/// <summary>
/// An Akka logger (listed in <c>akka.loggers</c>) that forwards Akka's log events to Serilog's
/// <see cref="Log.Logger"/>, which the host sets with <see cref="LoggingSetup.UseForAkka"/>.
/// Until then (in tests, for example) Serilog's default logger drops them.
/// </summary>
public sealed class AkkaSerilogLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    /// <summary>A persistence plugin's warnings and errors: at most one line per plugin this often.</summary>
    internal static readonly TimeSpan PluginRepeat = TimeSpan.FromMinutes(1);

    // When the persistence plugins lose their store they try again every second, logging the whole
    // exception chain each time: thousands of lines a minute. What an unavailable store means for
    // deliveries is said once per outage by the Destinations actor; here each plugin's own line is
    // cut to one line ending with the store's message, and repeats within PluginRepeat are left out.
    private readonly Dictionary<string, DateTime> _pluginSaidAt = new(StringComparer.Ordinal);

    private readonly ILogger? _logger;

    public AkkaSerilogLogger() : this(null)
    {
    }

    /// <param name="logger">Where to write; null: <see cref="Log.Logger"/> at each event (the host sets it after Akka starts).</param>
    public AkkaSerilogLogger(ILogger? logger)
    {
        _logger = logger;
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<AkkaLogEvent>(Write);
    }

    private void Write(AkkaLogEvent e)
    {
        LogEventLevel level = e.LogLevel() switch
        {
            LogLevel.DebugLevel => LogEventLevel.Debug,
            LogLevel.InfoLevel => LogEventLevel.Information,
            LogLevel.WarningLevel => LogEventLevel.Warning,
            _ => LogEventLevel.Error,
        };
        ILogger logger = _logger ?? Log.Logger;
        if (!logger.IsEnabled(level)) return;
        string? plugin = PluginOf(e.LogSource);
        if (plugin is not null && IsRepeat(plugin, level)) return;
        logger = logger
            .ForContext("AkkaSource", e.LogSource)
            .ForContext("SourceContext", e.LogClass?.FullName ?? "Akka");
        if (plugin is not null)
        {
            string text = e.Message?.ToString() ?? "";
            if (e.Cause is { } cause) text += ": " + cause.GetBaseException().Message;
            logger.Write(level, "[akka] {AkkaSource:l}: {AkkaMessage:l} (repeats left out for a minute)", e.LogSource, text);
            return;
        }
        logger.Write(level, e.Cause, "[akka] {AkkaSource:l}: {AkkaMessage:l}", e.LogSource, e.Message?.ToString() ?? "");
    }

    /// <summary>True if the plugin said something at this level less than <see cref="PluginRepeat"/>
    /// ago; else notes now. Keyed by plugin and level: its stream stages log under new names each time.</summary>
    private bool IsRepeat(string plugin, LogEventLevel level)
    {
        string key = $"{plugin} {level}";
        var now = DateTime.UtcNow;
        if (_pluginSaidAt.TryGetValue(key, out var said) && now - said < PluginRepeat) return true;
        _pluginSaidAt[key] = now;
        return false;
    }

    /// <summary>"akka://actormta/system/akka.persistence.journal.sql" for a log source of that plugin
    /// or of an actor under it; null for any other source.</summary>
    internal static string? PluginOf(string? source)
    {
        const string Marker = "/system/akka.persistence.";
        int at = source?.IndexOf(Marker, StringComparison.Ordinal) ?? -1;
        if (at < 0) return null;
        int end = source!.IndexOf('/', at + Marker.Length);
        return end < 0 ? source : source[..end];
    }
}
