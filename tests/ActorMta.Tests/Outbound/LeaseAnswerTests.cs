using System.Net;
using ActorMta.Destinations;
using ActorMta.Outbound;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>The delivery agent and a destination that does not answer (its actor stopped with the request in its mailbox).</summary>
public sealed class LeaseAnswerTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    [Fact]
    public async Task A_lease_request_with_no_answer_is_asked_again_and_a_late_grant_of_the_first_is_released()
    {
        var destinations = CreateTestProbe();
        var agent = Sys.ActorOf(DeliveryAgent.Props(Settings(), Spool, destinations, leaseAnswerTimeout: TimeSpan.FromMilliseconds(300)));
        var job = await JobAsync(new IPEndPoint(IPAddress.Loopback, 9), "Subject: x\r\n\r\nx\r\n", "user@test.example");

        agent.Tell(new DeliverRemote(job), TestActor);
        var first = destinations.ExpectMsg<AcquireLease>();
        var second = destinations.ExpectMsg<AcquireLease>(TimeSpan.FromSeconds(5));

        Assert.Equal(first.Key, second.Key);
        Assert.NotEqual(first.SessionId, second.SessionId);
        // The first answer comes after all: the agent has asked again, so that lease goes back.
        destinations.Reply(new LeaseGranted(first.Key, first.SessionId, null));
        Assert.Equal(first.SessionId, destinations.ExpectMsg<ReleaseLease>().SessionId);
        // The second is answered: the host is in its retry wait, the job is deferred (no other host).
        destinations.Reply(new LeaseRefused(second.Key, second.SessionId, "host in retry wait", DateTimeOffset.UtcNow.AddMinutes(1)));
        var outcome = Assert.Single(ExpectMsg<RemoteDeliveryResult>().Outcomes);
        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        destinations.ExpectNoMsg(TimeSpan.FromMilliseconds(600));
    }
}
