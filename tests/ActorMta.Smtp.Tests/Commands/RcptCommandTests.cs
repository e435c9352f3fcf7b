namespace ActorMta.Smtp.Tests;

public class RcptCommandTests
{
    [Theory]
    [InlineData("RCPT TO:<user@example.com>", "user", "example.com")]
    [InlineData("rcpt to:<user@example.com>", "user", "example.com")]
    [InlineData("RCPT TO: <user@example.com>", "user", "example.com")]
    [InlineData("RCPT TO:<\"odd user\"@example.com>", "odd user", "example.com")]
    [InlineData("RCPT TO:<user@[192.0.2.7]>", "user", "[192.0.2.7]")]
    [InlineData("RCPT TO:<@hop1.example,@hop2.example:user@example.com>", "user", "example.com")]
    [InlineData("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>", "δοκιμή", "παράδειγμα.δοκιμή")]
    public void RcptToAcceptsEveryAddressForm(string line, string local, string domain)
    {
        RcptCommand rcpt = Parse.Ok<RcptCommand>(line);
        Assert.Equal(new Mailbox(local, domain), rcpt.To);
        Assert.Same(RcptParameters.None, rcpt.Parameters);
    }

    [Theory]
    [InlineData("RCPT TO:<Postmaster>")]
    [InlineData("RCPT TO:<postmaster>")]
    [InlineData("RCPT TO:<POSTMASTER>")]
    [InlineData("RCPT TO: <PostMaster>")]
    public void PostmasterWithoutDomainIsAccepted(string line) =>
        Assert.Equal(new Mailbox("Postmaster", ""), Parse.Ok<RcptCommand>(line).To);

    [Theory]
    [InlineData("RCPT TO:<>")]
    [InlineData("RCPT TO:<user>")]
    [InlineData("RCPT TO:<\"Postmaster\">")]
    [InlineData("RCPT TO:<user@example.com")]
    [InlineData("RCPT TO:user@example.com")]
    [InlineData("RCPT TO:<user@@example.com>")]
    public void MalformedForwardPathIsArgumentError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("RCPT <user@example.com>")]
    [InlineData("RCPT TO <user@example.com>")]
    [InlineData("RCPT FROM:<user@example.com>")]
    [InlineData("RCPT")]
    public void RcptWithoutColonIsSyntaxError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    public static TheoryData<string, RcptParameters> GoodParameters => new()
    {
        { "NOTIFY=NEVER", new(DsnNotify.Never, "NEVER", null) },
        { "NOTIFY=never", new(DsnNotify.Never, "NEVER", null) },
        { "NOTIFY=SUCCESS", new(DsnNotify.Success, "SUCCESS", null) },
        { "NOTIFY=success,Failure", new(DsnNotify.Success | DsnNotify.Failure, "SUCCESS,FAILURE", null) },
        { "NOTIFY=DELAY,FAILURE,SUCCESS", new(DsnNotify.Delay | DsnNotify.Failure | DsnNotify.Success, "DELAY,FAILURE,SUCCESS", null) },
        { "ORCPT=rfc822;user@example.com", new(DsnNotify.Unspecified, null, "rfc822;user@example.com") },
        { "ORCPT=rfc822;a+2Bb@example.com", new(DsnNotify.Unspecified, null, "rfc822;a+2Bb@example.com") },
        { "ORCPT=utf-8;j\\x{00F6}rg@example.com", new(DsnNotify.Unspecified, null, "utf-8;j\\x{00F6}rg@example.com") },
        { "NOTIFY=FAILURE ORCPT=rfc822;x@y.z", new(DsnNotify.Failure, "FAILURE", "rfc822;x@y.z") },
    };

    [Theory]
    [MemberData(nameof(GoodParameters))]
    public void RcptParametersAreUnderstood(string parameters, RcptParameters expected) =>
        Assert.Equal(expected, Parse.Ok<RcptCommand>("RCPT TO:<a@example.com> " + parameters).Parameters);

    [Theory]
    [InlineData("NOTIFY=NEVER,SUCCESS")]
    [InlineData("NOTIFY=FAILURE,NEVER")]
    [InlineData("NOTIFY=SOMETIMES")]
    [InlineData("NOTIFY=")]
    [InlineData("NOTIFY")]
    [InlineData("NOTIFY=SUCCESS,")]
    [InlineData("NOTIFY=,SUCCESS")]
    [InlineData("NOTIFY=SUCCESS NOTIFY=FAILURE")]
    [InlineData("ORCPT=user@example.com")]
    [InlineData("ORCPT=rfc822;")]
    [InlineData("ORCPT=;user@example.com")]
    [InlineData("ORCPT=rfc822;a+2")]
    [InlineData("ORCPT")]
    [InlineData("ORCPT=rfc822;a@b ORCPT=rfc822;c@d")]
    [InlineData("SIZE=100")]
    [InlineData("XFORWARD=1")]
    public void UnknownDuplicatedOrMalformedRcptParameterIs555(string parameters) =>
        Assert.Equal("555 5.5.4", Parse.Codes(Parse.Error("RCPT TO:<a@example.com> " + parameters)));

    [Fact]
    public void RcptTrailingGarbageIsArgumentError() =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error("RCPT TO:<a@example.com>, <b@example.com>")));
}
