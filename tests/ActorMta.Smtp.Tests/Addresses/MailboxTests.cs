namespace ActorMta.Smtp.Tests;

public class MailboxTests
{
    [Theory]
    [InlineData("user", "example.com", "user@example.com")]
    [InlineData("first.last", "example.com", "first.last@example.com")]
    [InlineData("john doe", "example.com", "\"john doe\"@example.com")]
    [InlineData("a\"b\\c", "example.com", "\"a\\\"b\\\\c\"@example.com")]
    [InlineData(".dot", "example.com", "\".dot\"@example.com")]
    [InlineData("dot.", "example.com", "\"dot.\"@example.com")]
    [InlineData("a..b", "example.com", "\"a..b\"@example.com")]
    [InlineData("", "example.com", "\"\"@example.com")]
    [InlineData("a@b", "example.com", "\"a@b\"@example.com")]
    [InlineData("jörg", "bücher.example", "jörg@bücher.example")]
    [InlineData("user", "[192.0.2.1]", "user@[192.0.2.1]")]
    [InlineData("Postmaster", "", "Postmaster")]
    public void ToStringQuotesOnlyWhenNotADotString(string local, string domain, string expected) =>
        Assert.Equal(expected, new Mailbox(local, domain).ToString());

    [Theory]
    [InlineData("user", "example.com", false)]
    [InlineData("jörg", "example.com", true)]
    [InlineData("user", "bücher.example", true)]
    [InlineData("用户", "例子.广告", true)]
    [InlineData("Postmaster", "", false)]
    public void InternationalMeansAnyNonAsciiCharacter(string local, string domain, bool international) =>
        Assert.Equal(international, new Mailbox(local, domain).IsInternational);

    [Theory]
    [InlineData("MAIL FROM:<\"john\"@example.com>")]
    [InlineData("MAIL FROM:<john@example.com>")]
    public void QuotedAndPlainFormsOfTheSameLocalPartAreEqual(string line) =>
        Assert.Equal(new Mailbox("john", "example.com"), Parse.Ok<MailCommand>(line).From);

    [Theory]
    [InlineData("\"john doe\"@example.com")]
    [InlineData("\"a\\\"b\"@example.com")]
    [InlineData("user@[IPv6:2001:db8::1]")]
    [InlineData("jörg@bücher.example")]
    public void ToStringParsesBackToTheSameMailbox(string address)
    {
        Mailbox parsed = Parse.Ok<MailCommand>($"MAIL FROM:<{address}>").From!;
        Assert.Equal(address, parsed.ToString());
        Assert.Equal(parsed, Parse.Ok<MailCommand>($"MAIL FROM:<{parsed}>").From);
    }
}
