using ActorMta.Spool;
using ActorMta.Tests.Queue;

namespace ActorMta.Tests.Spool;

public sealed class JournalTests : IDisposable
{
    private readonly SpoolFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task First_failures_failure_details_and_bounce_records_survive_a_restart()
    {
        var envelope = await _f.StoreAsync("a@remote.example", "b@remote.example", "c@remote.example");
        var first = new DateTimeOffset(2026, 11, 29, 12, 15, 0, TimeSpan.Zero);
        var failure = new RecipientFailure("5.1.1", "mx.remote.example", "smtp; 550 5.1.1 \"No\" such user", "SMTP error: 550 5.1.1 ünknown");

        await _f.Spool.SetFirstFailureAsync(envelope.MessageId, 2, first);
        await _f.Spool.SetFirstFailureAsync(envelope.MessageId, 2, first.AddHours(1)); // only the first counts
        await _f.Spool.MarkFailedAsync(envelope.MessageId, 0, failure);
        await _f.Spool.MarkBouncedAsync(envelope.MessageId, [0], "abcdef-ghijkl-mn");
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 1, RecipientState.Delivered);

        var message = Assert.Single(_f.Reopen().Recover());
        Assert.Equal([RecipientState.Failed, RecipientState.Delivered, RecipientState.Pending], message.Recipients);
        Assert.Equal([null, null, first], message.FirstFailures);
        Assert.Equal([failure, null, null], message.Failures);
        Assert.Equal([true, false, false], message.Bounced);
    }
}
