using System.Net;
using System.Text;
using ActorMta.Destinations;
using Xunit.Abstractions;
using static ActorMta.Destinations.EhloFeatures;

namespace ActorMta.Tests.Destinations;

/// <summary>The messages that cross cluster nodes: stable manifests, JSON without CLR type names, every field kept.</summary>
public sealed class DestinationWireSerializerTests(ITestOutputHelper output) : PersistentDestinationTestKit(output)
{
    private static readonly DestinationKey V4 = new(IPAddress.Parse("192.0.2.1"), 25);
    private static readonly DestinationKey V6 = new(IPAddress.Parse("2001:db8::1"), 587);
    private static readonly DateTimeOffset At = new(2026, 12, 1, 2, 0, 0, TimeSpan.Zero);

    private static readonly EarlyPipeRecord Record = new(
        StartTls | Pipelining | PipeConnect, Pipelining | PipeConnect | Chunking, ["PLAIN"], ["PLAIN", "LOGIN"], new EhloLimits(10, 100, 5), At);

    public static TheoryData<object, string> Messages => new()
    {
        { new AcquireLease(V4, "out-1"), "acquire-lease-v1" },
        { new ReleaseLease(V6, "out-2"), "release-lease-v1" },
        { new EarlyAttemptFailed(V4, "554 at the banner"), "early-failed-v1" },
        { new TlsFailed(V4, "handshake failed", At), "tls-failed-v1" },
        { new HostFailed(V6, "connection refused"), "host-failed-v1" },
        { new HostSucceeded(V4), "host-succeeded-v1" },
        { new GetDestinationState(V6), "get-state-v1" },
        { new LeaseGranted(V4, "out-1", Record) { ClearTextUntil = At }, "lease-granted-v1" },
        { new LeaseGranted(V4, "out-1", null), "lease-granted-v1" },
        { new LeaseRefused(V4, "out-1", "host in its retry wait", At), "lease-refused-v1" },
        { new LeaseRefused(V4, "out-1", "connection budget full", null), "lease-refused-v1" },
        { new DestinationState(V6, Record, new HostRetry(At, At.AddMinutes(1), 2, "timeout"), 3) { InMemory = true, ClearTextUntil = At }, "state-v1" },
        { new DestinationState(V4, null, null, 0), "state-v1" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void MessagesRoundTripUnderTheirStableManifest(object message, string manifest)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);

        Assert.IsType<DestinationWireSerializer>(serializer);
        Assert.Equal(manifest, Akka.Serialization.Serialization.ManifestFor(serializer, message));
        var bytes = serializer.ToBinary(message);
        Assert.DoesNotContain("ActorMta", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Equal(message, Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
    }

    [Fact]
    public void AnEhloReplyKeepsItsFeaturesAuthLimitsAndPhase()
    {
        var learned = new EhloLearned(V6, true, Pipelining | Chunking | PipeConnect, ["PLAIN", "XOAUTH2"], new EhloLimits(0, 50, 0), true);
        var serializer = Sys.Serialization.FindSerializerFor(learned);

        var back = Assert.IsType<EhloLearned>(Sys.Serialization.Deserialize(serializer.ToBinary(learned), serializer.Identifier, "ehlo-learned-v1"));

        Assert.Equal((learned.Key, learned.Tls, learned.Features, learned.Limits, learned.EarlyConnection), (back.Key, back.Tls, back.Features, back.Limits, back.EarlyConnection));
        Assert.Equal(learned.Auth, back.Auth);
    }

    [Fact]
    public void TheWireJsonIsFixed()
    {
        var serializer = Sys.Serialization.FindSerializerFor(new AcquireLease(V4, "x"));

        // Nodes of the previous build read this: change the manifest's version instead.
        Assert.Equal("""{"key":"[2001:db8::1]:587","session":"out-2"}""", Encoding.UTF8.GetString(serializer.ToBinary(new AcquireLease(V6, "out-2"))));
        Assert.Equal(new HostFailed(V4, "timeout"),
            Sys.Serialization.Deserialize("""{"key":"192.0.2.1:25","reason":"timeout"}"""u8.ToArray(), serializer.Identifier, "host-failed-v1"));
        Assert.ThrowsAny<Exception>(() => Sys.Serialization.Deserialize("""{"key":"nowhere"}"""u8.ToArray(), serializer.Identifier, "host-succeeded-v1"));
    }
}
