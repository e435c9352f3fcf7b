using Akka.Actor;
using Akka.TestKit.Xunit2;
using ActorMta.Metrics;
using Xunit.Abstractions;

namespace ActorMta.Tests.Metrics;

/// <summary>A kind of actor only these tests start, so its series are theirs alone.</summary>
public sealed class TelemetryProbeWorker : ReceiveActor
{
    public TelemetryProbeWorker()
    {
        ReceiveAny(m =>
        {
            using var _ = MtaMetrics.Processing(nameof(TelemetryProbeWorker));
            if (m is "crash") throw new InvalidOperationException("crash on purpose");
            Sender.Tell(m);
        });
    }
}

/// <summary>Blocks on its first message until released, so messages pile up in its mailbox.</summary>
public sealed class MailboxProbe : ReceiveActor
{
    public MailboxProbe(ManualResetEventSlim release)
    {
        ReceiveAny(_ => release.Wait(TimeSpan.FromSeconds(30)));
    }
}

[Collection(MtaMeterCollection.Name)]
public sealed class ActorTelemetryBridgeTests : TestKit, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly Scraper _scraper = new();

    public ActorTelemetryBridgeTests(ITestOutputHelper output)
        : base(ActorTelemetryBridge.Hocon + "\nakka.loglevel = WARNING", output: output)
    {
    }

    void IDisposable.Dispose()
    {
        _scraper.Dispose();
        Dispose();
    }

    private const string Kind = nameof(TelemetryProbeWorker);

    private double Value(string family) =>
        Scrapes.Value(_scraper.Scrape(), $"{family}{{kind=\"{Kind}\"}}") ?? 0;

    [Fact]
    public async Task Started_stopped_restarted_and_live_actors_are_counted_per_kind()
    {
        // Subscribed when Start returns: the workers' starts below cannot be missed.
        ActorTelemetry.StartBridge(Sys);

        var workers = Enumerable.Range(0, 3).Select(_ => Sys.ActorOf(Props.Create<TelemetryProbeWorker>())).ToArray();
        await AwaitAssertAsync(() => Assert.Equal(3, Value("actormta_actors_started_total")), Patience);
        Assert.Equal(3, Value("actormta_actors_live"));

        Watch(workers[0]);
        Sys.Stop(workers[0]);
        ExpectTerminated(workers[0]);
        await AwaitAssertAsync(() => Assert.Equal(1, Value("actormta_actors_stopped_total")), Patience);
        Assert.Equal(2, Value("actormta_actors_live"));

        await EventFilter.Exception<InvalidOperationException>().ExpectOneAsync(async () =>
        {
            workers[1].Tell("crash");
            await Task.CompletedTask;
        });
        await AwaitAssertAsync(() => Assert.Equal(1, Value("actormta_actors_restarted_total")), Patience);

        // The restarted actor still answers, and a restart is not a stop.
        Assert.Equal("ping", await workers[1].Ask<string>("ping", Patience));
        Assert.Equal(2, Value("actormta_actors_live"));
        Assert.Equal(1, Value("actormta_actors_stopped_total"));

        // Receives measured with MtaMetrics.Processing: the crash and the ping.
        Assert.Equal(2, Value("actormta_actor_messages_processed_total"));
    }

    [Fact]
    public void Actor_kinds_are_class_names_for_actormta_types_and_other_for_the_rest()
    {
        Assert.Equal("TelemetryProbeWorker", ActorTelemetryBridge.KindOf(typeof(TelemetryProbeWorker)));
        Assert.Equal("QueueManager", ActorTelemetryBridge.KindOf(typeof(ActorMta.Queue.QueueManager)));
        Assert.Equal("InboundSession", ActorTelemetryBridge.KindOf(typeof(ActorMta.Inbound.InboundSession)));
        Assert.Equal("other", ActorTelemetryBridge.KindOf(typeof(Akka.Event.DefaultLogger)));
    }

    [Fact]
    public async Task The_mailbox_depth_of_a_registered_singleton_is_sampled_at_scrape_time()
    {
        using var release = new ManualResetEventSlim(false);
        var probe = Sys.ActorOf(Props.Create(() => new MailboxProbe(release)));
        using var registration = MtaMetrics.SampleMailbox("MailboxProbe", probe);

        for (var i = 0; i < 6; i++) probe.Tell(i);
        // The first message is being processed (blocked); five wait behind it.
        await AwaitAssertAsync(() => Assert.Equal(5, Scrapes.Value(_scraper.Scrape(), "actormta_actor_mailbox_depth{kind=\"MailboxProbe\"}")), Patience);

        release.Set();
        await AwaitAssertAsync(() => Assert.Equal(0, Scrapes.Value(_scraper.Scrape(), "actormta_actor_mailbox_depth{kind=\"MailboxProbe\"}")), Patience);

        registration.Dispose();
        Assert.Null(Scrapes.Value(_scraper.Scrape(), "actormta_actor_mailbox_depth{kind=\"MailboxProbe\"}"));
    }
}
