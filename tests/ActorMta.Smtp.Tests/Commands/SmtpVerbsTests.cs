namespace ActorMta.Smtp.Tests;

public class SmtpVerbsTests
{
    [Theory]
    [InlineData(SmtpVerb.Ehlo, true)]
    [InlineData(SmtpVerb.Helo, true)]
    [InlineData(SmtpVerb.Data, true)]
    [InlineData(SmtpVerb.Vrfy, true)]
    [InlineData(SmtpVerb.Expn, true)]
    [InlineData(SmtpVerb.Noop, true)]
    [InlineData(SmtpVerb.Quit, true)]
    [InlineData(SmtpVerb.StartTls, true)]
    [InlineData(SmtpVerb.Auth, true)]
    [InlineData(SmtpVerb.Mail, false)]
    [InlineData(SmtpVerb.Rcpt, false)]
    [InlineData(SmtpVerb.Rset, false)]
    [InlineData(SmtpVerb.Bdat, false)]
    [InlineData(SmtpVerb.Help, false)]
    [InlineData(SmtpVerb.Unknown, false)]
    public void OnlyRfc2920SyncVerbsEndAPipelineGroup(SmtpVerb verb, bool ends) =>
        Assert.Equal(ends, SmtpVerbs.EndsPipelineGroup(verb));

    [Theory]
    [InlineData(SmtpVerb.StartTls, "STARTTLS")]
    [InlineData(SmtpVerb.Mail, "MAIL")]
    [InlineData(SmtpVerb.Bdat, "BDAT")]
    public void WireNameIsTheUpperCaseVerb(SmtpVerb verb, string name) => Assert.Equal(name, SmtpVerbs.ToWireName(verb));

    [Fact]
    public void EveryKnownVerbRoundTripsThroughItsWireName()
    {
        foreach (SmtpVerb verb in Enum.GetValues<SmtpVerb>().Where(v => v != SmtpVerb.Unknown))
        {
            string line = SmtpVerbs.ToWireName(verb) + verb switch
            {
                SmtpVerb.Helo or SmtpVerb.Ehlo => " example.com",
                SmtpVerb.Mail => " FROM:<>",
                SmtpVerb.Rcpt => " TO:<a@b.c>",
                SmtpVerb.Bdat => " 1",
                SmtpVerb.Vrfy or SmtpVerb.Expn => " x",
                SmtpVerb.Auth => " PLAIN",
                _ => "",
            };
            Assert.Equal(verb, CommandParser.Parse(System.Text.Encoding.ASCII.GetBytes(line)).Command!.Verb);
        }
    }
}
