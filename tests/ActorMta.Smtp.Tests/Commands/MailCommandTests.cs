namespace ActorMta.Smtp.Tests;

public class MailCommandTests
{
    [Theory]
    [InlineData("MAIL FROM:<user@example.com>", "user", "example.com")]
    [InlineData("mail from:<user@example.com>", "user", "example.com")]
    [InlineData("MAIL FROM: <user@example.com>", "user", "example.com")]
    [InlineData("MAIL FROM:  <user@example.com>", "user", "example.com")]
    [InlineData("MAIL FROM:<first.last+tag@Sub.Example.COM>", "first.last+tag", "Sub.Example.COM")]
    [InlineData("MAIL FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~", "example.com")]
    [InlineData("MAIL FROM:<\"john doe\"@example.com>", "john doe", "example.com")]
    [InlineData("MAIL FROM:<\"a\\\"b\\\\c\"@example.com>", "a\"b\\c", "example.com")]
    [InlineData("MAIL FROM:<\"a>b\"@example.com>", "a>b", "example.com")]
    [InlineData("MAIL FROM:<\"\"@example.com>", "", "example.com")]
    [InlineData("MAIL FROM:<user@[192.0.2.1]>", "user", "[192.0.2.1]")]
    [InlineData("MAIL FROM:<user@[IPv6:2001:db8::1]>", "user", "[IPv6:2001:db8::1]")]
    [InlineData("MAIL FROM:<user@[x-tag:some-thing]>", "user", "[x-tag:some-thing]")]
    [InlineData("MAIL FROM:<@relay.example:user@example.com>", "user", "example.com")]
    [InlineData("MAIL FROM:<@a.example,@b.example:user@example.com>", "user", "example.com")]
    [InlineData("MAIL FROM:<@[192.0.2.1]:user@example.com>", "user", "example.com")]
    [InlineData("MAIL FROM:<jörg@bücher.example>", "jörg", "bücher.example")]
    [InlineData("MAIL FROM:<用户@例子.广告>", "用户", "例子.广告")]
    [InlineData("MAIL FROM:<user@example.com> ", "user", "example.com")]
    public void MailFromAcceptsEveryAddressForm(string line, string local, string domain)
    {
        MailCommand mail = Parse.Ok<MailCommand>(line);
        Assert.Equal(new Mailbox(local, domain), mail.From);
        Assert.Same(MailParameters.None, mail.Parameters);
    }

    [Theory]
    [InlineData("MAIL FROM:<>")]
    [InlineData("MAIL FROM: <>")]
    [InlineData("mail FROM:<>")]
    public void NullReversePathGivesNullFrom(string line) => Assert.Null(Parse.Ok<MailCommand>(line).From);

    [Theory]
    [InlineData("MAIL FROM:<a@b")]
    [InlineData("MAIL FROM:a@example.com")]
    [InlineData("MAIL FROM:")]
    [InlineData("MAIL FROM:<user>")]
    [InlineData("MAIL FROM:<Postmaster>")]
    [InlineData("MAIL FROM:<@example.com>")]
    [InlineData("MAIL FROM:<user@>")]
    [InlineData("MAIL FROM:<.user@example.com>")]
    [InlineData("MAIL FROM:<user.@example.com>")]
    [InlineData("MAIL FROM:<us..er@example.com>")]
    [InlineData("MAIL FROM:<us er@example.com>")]
    [InlineData("MAIL FROM:<user@exa mple.com>")]
    [InlineData("MAIL FROM:<user@example..com>")]
    [InlineData("MAIL FROM:<user@example.com.>")]
    [InlineData("MAIL FROM:<user@-example.com>")]
    [InlineData("MAIL FROM:<user@exam_ple.com>")]
    [InlineData("MAIL FROM:<user@[300.0.0.1]>")]
    [InlineData("MAIL FROM:<user@[IPv6:::g]>")]
    [InlineData("MAIL FROM:<user@[192.0.2.1>")]
    [InlineData("MAIL FROM:<\"unterminated@example.com>")]
    [InlineData("MAIL FROM:<a\"b@example.com>")]
    [InlineData("MAIL FROM:<a@b@example.com>")]
    [InlineData("MAIL FROM:<@relay.example user@example.com>")]
    [InlineData("MAIL FROM:<@relay.example>")]
    [InlineData("MAIL FROM:<<user@example.com>>")]
    public void MalformedReversePathIsArgumentError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("MAIL <user@example.com>")]
    [InlineData("MAIL FROM <user@example.com>")]
    [InlineData("MAIL")]
    [InlineData("MAIL TO:<user@example.com>")]
    [InlineData("MAIL FRM:<user@example.com>")]
    public void MailWithoutColonIsSyntaxError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("MAIL FROM:<user@example.com>junk")]
    [InlineData("MAIL FROM:<user@example.com> <other@example.com>")]
    [InlineData("MAIL FROM:<user@example.com> =5")]
    [InlineData("MAIL FROM:<user@example.com> SIZE:5")]
    [InlineData("MAIL FROM:<user@example.com> -X=1")]
    [InlineData("MAIL FROM:<>x")]
    public void TrailingGarbageIsArgumentError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    public static TheoryData<string, MailParameters> GoodParameters => new()
    {
        { "SIZE=12345", new(12345, BodyType.Unspecified, false, null, null, null) },
        { "size=0", new(0, BodyType.Unspecified, false, null, null, null) },
        { "SIZE=9223372036854775807", new(long.MaxValue, BodyType.Unspecified, false, null, null, null) },
        { "BODY=7BIT", new(null, BodyType.SevenBit, false, null, null, null) },
        { "BODY=8bitmime", new(null, BodyType.EightBitMime, false, null, null, null) },
        { "BODY=BINARYMIME", new(null, BodyType.BinaryMime, false, null, null, null) },
        { "SMTPUTF8", new(null, BodyType.Unspecified, true, null, null, null) },
        { "smtputf8", new(null, BodyType.Unspecified, true, null, null, null) },
        { "RET=FULL", new(null, BodyType.Unspecified, false, "FULL", null, null) },
        { "ret=hdrs", new(null, BodyType.Unspecified, false, "HDRS", null, null) },
        { "ENVID=QQ314159", new(null, BodyType.Unspecified, false, null, "QQ314159", null) },
        { "ENVID=a+2Bb+3Dc", new(null, BodyType.Unspecified, false, null, "a+b=c", null) },
        { "AUTH=<>", new(null, BodyType.Unspecified, false, null, null, "<>") },
        { "AUTH=e+3Dmc2@example.com", new(null, BodyType.Unspecified, false, null, null, "e=mc2@example.com") },
        {
            "SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id1 AUTH=<>",
            new(100, BodyType.EightBitMime, true, "HDRS", "id1", "<>")
        },
        { "  SIZE=7   BODY=7BIT", new(7, BodyType.SevenBit, false, null, null, null) },
    };

    [Theory]
    [MemberData(nameof(GoodParameters))]
    public void MailParametersAreUnderstood(string parameters, MailParameters expected)
    {
        MailCommand mail = Parse.Ok<MailCommand>("MAIL FROM:<a@example.com> " + parameters);
        Assert.Equal(expected, mail.Parameters);
    }

    [Theory]
    [InlineData("SIZE=abc")]
    [InlineData("SIZE=")]
    [InlineData("SIZE")]
    [InlineData("SIZE=-1")]
    [InlineData("SIZE=1.5")]
    [InlineData("SIZE=18446744073709551615")]
    [InlineData("SIZE=123456789012345678901")]
    [InlineData("BODY=foo")]
    [InlineData("BODY=")]
    [InlineData("BODY")]
    [InlineData("SMTPUTF8=yes")]
    [InlineData("RET=ALL")]
    [InlineData("RET")]
    [InlineData("ENVID=a+2")]
    [InlineData("ENVID=a+ZZb")]
    [InlineData("ENVID=a+FF")]
    [InlineData("ENVID=x=y")]
    [InlineData("AUTH=")]
    [InlineData("AUTH=a+")]
    [InlineData("XFOO=1")]
    [InlineData("X-UNKNOWN")]
    [InlineData("NOTIFY=NEVER")]
    [InlineData("SIZE=1 SIZE=2")]
    [InlineData("RET=FULL RET=HDRS")]
    [InlineData("BODY=7BIT body=8BITMIME")]
    [InlineData("SMTPUTF8 SMTPUTF8")]
    [InlineData("ENVID=a ENVID=b")]
    [InlineData("AUTH=<> AUTH=<>")]
    public void UnknownDuplicatedOrMalformedMailParameterIs555(string parameters) =>
        Assert.Equal("555 5.5.4", Parse.Codes(Parse.Error("MAIL FROM:<a@example.com> " + parameters)));

    [Fact]
    public void EnvIdLongerThan100CharactersIs555()
    {
        Assert.True(Parse.Ok<MailCommand>("MAIL FROM:<> ENVID=" + new string('x', 100)).Parameters.EnvId!.Length == 100);
        Assert.Equal("555 5.5.4", Parse.Codes(Parse.Error("MAIL FROM:<> ENVID=" + new string('x', 101))));
    }

    [Fact]
    public void ParametersFollowTheNullReversePath() =>
        Assert.Equal(
            new MailCommand(null, new MailParameters(5, BodyType.Unspecified, false, null, null, null)),
            Parse.Ok<MailCommand>("MAIL FROM:<> SIZE=5"));
}
