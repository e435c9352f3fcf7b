using System.Text.RegularExpressions;
using ActorMta.Spool;

namespace ActorMta.Tests.Spool;

public sealed class MessageIdTests
{
    [Fact]
    public void A_hundred_thousand_ids_are_unique_sorted_in_order_of_issue_and_look_like_exim_ids()
    {
        var spool = new MessageSpool(new Configuration.SpoolSettings(Path.Combine(Path.GetTempPath(), "actormta-ids"), false));

        var ids = Enumerable.Range(0, 100_000).Select(_ => spool.NewMessageId()).ToArray();

        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        var eximRegex = new Regex(@"^\w{6}-\w{6}-\w{2}$"); // exigrep / eximstats
        Assert.All(ids, id => Assert.Matches(eximRegex, id));
        Assert.All(ids, id => Assert.Matches("^[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}$", id));
        Assert.All(ids, id => Assert.True(MessageSpool.IsValidMessageId(id)));
        Assert.InRange(MessageIds.TimeOf(ids[^1]), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public void The_first_six_characters_are_the_unix_time_in_base62_and_later_seconds_sort_later()
    {
        var generator = new MessageIds.Generator();
        var t = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

        string first = generator.Next(t.AddTicks(9_999_999));
        string later = generator.Next(t.AddSeconds(1));

        Assert.Equal(t, MessageIds.TimeOf(first));
        Assert.Equal(t.AddSeconds(1), MessageIds.TimeOf(later));
        Assert.True(string.CompareOrdinal(first, later) < 0);
        Assert.Equal("2499kc", later[..6]); // 1893553446 in base62
    }

    [Fact]
    public void Ids_within_one_clock_tick_still_differ_and_keep_their_order()
    {
        var generator = new MessageIds.Generator();
        var t = DateTimeOffset.UtcNow;

        var ids = Enumerable.Range(0, 1000).Select(_ => generator.Next(t)).ToArray();

        Assert.Equal(ids, ids.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_restart_whose_clock_went_back_still_issues_ids_after_those_it_found_in_the_spool()
    {
        var now = DateTimeOffset.UtcNow;
        string leftByTheLastRun = new MessageIds.Generator().Next(now.AddHours(1));
        var restarted = new MessageIds.Generator();

        restarted.Observe(leftByTheLastRun); // what recovery does for each spooled id
        string next = restarted.Next(now);

        Assert.True(string.CompareOrdinal(next, leftByTheLastRun) > 0, $"{next} should sort after {leftByTheLastRun}");
    }

    [Theory]
    [InlineData("../../etc/pass")]
    [InlineData("1AbCdE-0000aZ-Q")]
    [InlineData("1AbCdE_0000aZ-Qx")]
    [InlineData("1AbC/E-0000aZ-Qx")]
    [InlineData("")]
    public void Anything_else_is_not_an_id(string text) => Assert.False(MessageSpool.IsValidMessageId(text));
}
