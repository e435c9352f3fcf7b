using Akka.Actor;
using Akka.Event;
using ActorMta.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using TestKitBase = Akka.TestKit.Xunit2.TestKit;
using SerilogEvent = Serilog.Events.LogEvent;

namespace ActorMta.Tests.Host;

/// <summary>Akka's log events as the operator reads them through Serilog.</summary>
public sealed class AkkaLogTests : TestKitBase
{
    private sealed class Collect : ILogEventSink
    {
        public readonly List<SerilogEvent> Events = [];

        public void Emit(SerilogEvent logEvent)
        {
            lock (Events) Events.Add(logEvent);
        }

        public SerilogEvent[] Snapshot()
        {
            lock (Events) return [.. Events];
        }
    }

    [Fact]
    public void A_persistence_plugin_that_cannot_reach_its_store_is_one_line_a_minute_with_the_stores_message_not_a_stack_trace()
    {
        var sink = new Collect();
        using var serilog = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger();
        var logger = Sys.ActorOf(Props.Create(() => new AkkaSerilogLogger(serilog)));
        const string Journal = "akka://mta/system/akka.persistence.journal.sql";
        var failure = new ApplicationException("Failed to initialize SQL Journal.", new IOException("unable to open database file"));

        // What Akka.Persistence.Sql sends every second while its database cannot be opened.
        for (int i = 0; i < 3; i++)
        {
            logger.Tell(new Error(failure, Journal, typeof(object), "Failure during SQL Journal initialization."));
            logger.Tell(new Info($"{Journal}/StreamSupervisor-{i}/Flow-0-0-unknown-operation", typeof(object), "Message [Suspend] was not delivered"));
        }
        // Anything else keeps its exception for the operator.
        logger.Tell(new Error(new InvalidOperationException("boom"), "akka://mta/user/mta/queue", typeof(object), "queue failed"));

        AwaitCondition(() => sink.Snapshot().Length >= 3);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var events = sink.Snapshot();
        Assert.Equal(3, events.Length);
        var journalError = Assert.Single(events, e => e.Level == LogEventLevel.Error && e.RenderMessage().Contains("journal.sql", StringComparison.Ordinal));
        Assert.Null(journalError.Exception);
        Assert.Equal($"[akka] {Journal}: Failure during SQL Journal initialization.: unable to open database file (repeats left out for a minute)",
            journalError.RenderMessage());
        Assert.Single(events, e => e.Level == LogEventLevel.Information);
        var other = Assert.Single(events, e => e.RenderMessage().Contains("queue failed", StringComparison.Ordinal));
        Assert.IsType<InvalidOperationException>(other.Exception);
    }

    [Theory]
    [InlineData("akka://mta/system/akka.persistence.journal.sql", "akka://mta/system/akka.persistence.journal.sql")]
    [InlineData("akka://mta/system/akka.persistence.journal.sql/StreamSupervisor-8/Flow-0-0", "akka://mta/system/akka.persistence.journal.sql")]
    [InlineData("akka://mta/system/akka.persistence.snapshot-store.sql", "akka://mta/system/akka.persistence.snapshot-store.sql")]
    [InlineData("akka://mta/user/mta/destinations", null)]
    [InlineData(null, null)]
    public void The_plugin_of_a_log_source_is_its_path_under_system(string? source, string? plugin)
        => Assert.Equal(plugin, AkkaSerilogLogger.PluginOf(source));
}
