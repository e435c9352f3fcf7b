using ActorMta.Queue;

namespace ActorMta.Tests.Queue;

public sealed class RetryScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_default_is_Exims_schedule_and_parses_from_its_own_text()
    {
        Assert.Equal(["F,2h,15m", "G,16h,1h,1.5", "F,4d,6h"], RetrySchedule.EximDefault.Select(r => r.ToString()));
        Assert.Equal(RetrySchedule.EximDefault, RetrySchedule.Parse(["F,2h,15m", "G,16h,1h,1.5", "F,4d,6h"]));
        Assert.Equal(TimeSpan.FromMinutes(90), RetrySchedule.Parse(["F, 1h30m, 500ms"])[0].Cutoff);
    }

    [Fact]
    public void Every_15_minutes_for_2_hours_then_growing_intervals_then_every_6_hours_until_4_days()
    {
        var rules = RetrySchedule.EximDefault;
        TimeSpan Next(TimeSpan elapsed) => RetrySchedule.NextAttempt(rules, T0, T0 + elapsed, TimeSpan.FromDays(30))!.Value - T0;

        Assert.Equal(TimeSpan.FromMinutes(15), Next(TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromMinutes(30), Next(TimeSpan.FromMinutes(15)));
        Assert.Equal(TimeSpan.FromHours(2), Next(TimeSpan.FromMinutes(110)));
        Assert.Equal(TimeSpan.FromHours(3), Next(TimeSpan.FromHours(2)));             // 2h + 1h
        Assert.Equal(TimeSpan.FromHours(4.5), Next(TimeSpan.FromHours(3)));           // + 1.5h
        Assert.Equal(TimeSpan.FromHours(6.75), Next(TimeSpan.FromHours(4.5)));        // + 2.25h
        var late = Next(TimeSpan.FromHours(40));
        Assert.True(late > TimeSpan.FromHours(40) && late <= TimeSpan.FromHours(46), late.ToString());
        Assert.Equal(TimeSpan.FromDays(4), Next(TimeSpan.FromDays(4) - TimeSpan.FromMinutes(1))); // one last try at the cutoff
        Assert.Null(RetrySchedule.NextAttempt(rules, T0, T0 + TimeSpan.FromDays(4), TimeSpan.FromDays(30)));
    }

    [Fact]
    public void The_maximum_retry_time_caps_the_schedule()
    {
        Assert.Equal(T0 + TimeSpan.FromHours(1), RetrySchedule.NextAttempt(RetrySchedule.EximDefault, T0, T0 + TimeSpan.FromMinutes(55), TimeSpan.FromHours(1)));
        Assert.Null(RetrySchedule.NextAttempt(RetrySchedule.EximDefault, T0, T0 + TimeSpan.FromHours(1), TimeSpan.FromHours(1)));
    }

    [Theory]
    [InlineData("X,2h,15m", "retry rule 1 \"X,2h,15m\": must start with F (fixed interval) or G (geometric)")]
    [InlineData("F,2h", "retry rule 1 \"F,2h\": a fixed rule is F,<cutoff>,<interval>")]
    [InlineData("G,16h,1h", "retry rule 1 \"G,16h,1h\": a geometric rule is G,<cutoff>,<first interval>,<factor>")]
    [InlineData("F,2x,15m", "retry rule 1 \"F,2x,15m\": cutoff \"2x\" is not a duration")]
    [InlineData("G,16h,1h,0.5", "retry rule 1 \"G,16h,1h,0.5\": factor \"0.5\" must be a number of at least 1")]
    [InlineData("F,2h,0s", "retry rule 1 \"F,2h,0s\": the interval must be more than zero")]
    public void Bad_rules_are_refused_with_the_rule_and_the_reason(string rule, string message)
    {
        var e = Assert.Throws<FormatException>(() => RetrySchedule.Parse([rule]));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_must_come_in_order_of_increasing_cutoff_and_there_must_be_one()
    {
        var e = Assert.Throws<FormatException>(() => RetrySchedule.Parse(["F,4d,6h", "F,2h,15m"]));
        Assert.StartsWith("retry rule 2 \"F,2h,15m\": cutoff 2h is not after the previous rule's 4d", e.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => RetrySchedule.Parse([]));
    }
}
