using System.Text;

namespace ActorMta.Smtp.Tests;

public class CommandParserTests
{
    [Theory]
    [InlineData("DATA", SmtpVerb.Data)]
    [InlineData("data", SmtpVerb.Data)]
    [InlineData("DaTa", SmtpVerb.Data)]
    [InlineData("DATA ", SmtpVerb.Data)]
    [InlineData("RSET", SmtpVerb.Rset)]
    [InlineData("rset", SmtpVerb.Rset)]
    [InlineData("NOOP", SmtpVerb.Noop)]
    [InlineData("NOOP anything at all", SmtpVerb.Noop)]
    [InlineData("QUIT", SmtpVerb.Quit)]
    [InlineData("quit\t", SmtpVerb.Quit)]
    [InlineData("STARTTLS", SmtpVerb.StartTls)]
    [InlineData("StartTls", SmtpVerb.StartTls)]
    [InlineData("HELP", SmtpVerb.Help)]
    public void ArgumentlessCommandsParseInAnyCase(string line, SmtpVerb verb)
    {
        ParseResult result = CommandParser.Parse(Encoding.ASCII.GetBytes(line));
        Assert.True(result.IsSuccess);
        Assert.Equal(verb, result.Command!.Verb);
    }

    [Theory]
    [InlineData("DATA x")]
    [InlineData("RSET now")]
    [InlineData("QUIT please")]
    [InlineData("STARTTLS TLS1.3")]
    public void ArgumentsWhereNoneAreAllowedAreSyntaxErrors(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("   \t")]
    [InlineData(" DATA")]
    public void EmptyLineIsUnrecognised(string line) => Assert.Equal("500 5.5.2", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData(new byte[] { (byte)'N', (byte)'O', (byte)'O', (byte)'P', 0 })]
    [InlineData(new byte[] { (byte)'D', (byte)'A', 0, (byte)'A' })]
    [InlineData(new byte[] { (byte)'N', (byte)'O', (byte)'O', (byte)'P', (byte)' ', 0xFF })]
    [InlineData(new byte[] { (byte)'N', (byte)'O', (byte)'O', (byte)'P', (byte)' ', 0xC3 })]
    [InlineData(new byte[] { (byte)'N', (byte)'O', (byte)'O', (byte)'P', (byte)' ', 0xC0, 0x80 })]
    [InlineData(new byte[] { (byte)'D', (byte)'A', (byte)'T', (byte)'A', (byte)'\r' })]
    [InlineData(new byte[] { (byte)'D', (byte)'A', (byte)'T', (byte)'A', (byte)'\r', (byte)'X' })]
    [InlineData(new byte[] { (byte)'Q', (byte)'U', (byte)'I', (byte)'T', 0x1B })]
    public void LineThatIsNotTextIsUnrecognised(byte[] line) => Assert.Equal("500 5.5.2", Parse.Codes(Parse.Error(line)));

    [Fact]
    public void Latin1AddressIsNotText()
    {
        byte[] line = [.. "MAIL FROM:<j"u8, 0xF6, .. "rg@example.com>"u8];
        Assert.Equal("500 5.5.2", Parse.Codes(Parse.Error(line)));
    }

    [Theory]
    [InlineData("MAIL FROM:<a\u009b31m@example.com> SMTPUTF8")] // CSI: a terminal escape sequence in the log
    [InlineData("RCPT TO:<user\u0085x@example.com>")]
    [InlineData("EHLO \u0080")]
    [InlineData("HELP \u009f")]
    public void C1ControlCharacterInUtf8IsNotText(string line) => Assert.Equal("500 5.5.2", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("MAIL FROM:<\u00c2\u00a0a@example.com> SMTPUTF8", "\u00c2\u00a0a")] // 0xC3 0x82, 0xC2 0xA0: C2 bytes, no control
    [InlineData("MAIL FROM:<\u0100\u0180\u0200@example.com> SMTPUTF8", "\u0100\u0180\u0200")] // second bytes 0x80: not after 0xC2
    public void Utf8AddressWithoutControlsIsText(string line, string localPart) =>
        Assert.Equal(localPart, Parse.Ok<MailCommand>(line).From!.LocalPart);

    [Fact]
    public void MailWithNulInAddressIsNotText()
    {
        byte[] line = [.. "MAIL FROM:<a"u8, 0, .. "b@example.com>"u8];
        Assert.Equal("500 5.5.2", Parse.Codes(Parse.Error(line)));
    }

    [Theory]
    [InlineData("FOO", "FOO")]
    [InlineData("foo bar baz", "foo")]
    [InlineData("GET / HTTP/1.1", "GET")]
    [InlineData("TURN", "TURN")]
    [InlineData("MAILFROM:<a@b.c>", "MAILFROM:<a@b.c>")]
    public void UnknownVerbIsACommandNotAnError(string line, string verb)
    {
        UnknownCommand command = Parse.Ok<UnknownCommand>(line);
        Assert.Equal(verb, command.Verb);
        Assert.Equal(SmtpVerb.Unknown, ((SmtpCommand)command).Verb);
    }

    [Theory]
    [InlineData("EHLO mail.example.com", "mail.example.com")]
    [InlineData("ehlo mail.example.com", "mail.example.com")]
    [InlineData("EHLO  mail.example.com ", "mail.example.com")]
    [InlineData("EHLO [192.0.2.1]", "[192.0.2.1]")]
    [InlineData("EHLO [IPv6:2001:db8::1]", "[IPv6:2001:db8::1]")]
    [InlineData("EHLO [ipv6:::ffff:192.0.2.1]", "[ipv6:::ffff:192.0.2.1]")]
    [InlineData("EHLO localhost", "localhost")]
    [InlineData("EHLO WIN_PC", "WIN_PC")]
    [InlineData("EHLO 192.0.2.1", "192.0.2.1")]
    [InlineData("EHLO bücher.example", "bücher.example")]
    [InlineData("EHLO mail.example.com.", "mail.example.com.")]
    public void EhloKeepsTheDomainAsGiven(string line, string domain) =>
        Assert.Equal(new EhloCommand(domain), Parse.Ok<EhloCommand>(line));

    [Fact]
    public void HeloIsItsOwnCommand() => Assert.Equal(new HeloCommand("relay.example.org"), Parse.Ok<HeloCommand>("HELO relay.example.org"));

    [Theory]
    [InlineData("EHLO")]
    [InlineData("EHLO ")]
    [InlineData("HELO")]
    [InlineData("EHLO two words")]
    [InlineData("EHLO -bad.example")]
    [InlineData("EHLO bad-.example")]
    [InlineData("EHLO a..b")]
    [InlineData("EHLO .example")]
    [InlineData("EHLO .")]
    [InlineData("EHLO example..")]
    [InlineData("EHLO [192.0.2.256]")]
    [InlineData("EHLO [192.0.2]")]
    [InlineData("EHLO [IPv6:nothex]")]
    [InlineData("EHLO [IPv6:fe80::1%eth0]")]
    [InlineData("EHLO [192.0.2.1")]
    [InlineData("EHLO <mail.example.com>")]
    public void EhloWithoutAValidDomainIsArgumentError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("BDAT 0 LAST", 0L, true)]
    [InlineData("BDAT 1000", 1000L, false)]
    [InlineData("bdat 86 last", 86L, true)]
    [InlineData("BDAT  42  LAST", 42L, true)]
    [InlineData("BDAT 000123", 123L, false)]
    [InlineData("BDAT 999999999999999999", 999999999999999999L, false)]
    public void BdatCarriesSizeAndLast(string line, long size, bool last) =>
        Assert.Equal(new BdatCommand(size, last), Parse.Ok<BdatCommand>(line));

    [Theory]
    [InlineData("BDAT")]
    [InlineData("BDAT LAST")]
    [InlineData("BDAT -1")]
    [InlineData("BDAT +5")]
    [InlineData("BDAT 12x")]
    [InlineData("BDAT 0x10")]
    [InlineData("BDAT 10 FIRST")]
    [InlineData("BDAT 10 LAST extra")]
    [InlineData("BDAT 99999999999999999999")]
    public void BdatWithoutAValidSizeIsArgumentError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("AUTH PLAIN", "PLAIN", null)]
    [InlineData("auth plain AGZvbwBiYXI=", "PLAIN", "AGZvbwBiYXI=")]
    [InlineData("AUTH LOGIN =", "LOGIN", "=")]
    [InlineData("AUTH SCRAM-SHA-256", "SCRAM-SHA-256", null)]
    [InlineData("AUTH XOAUTH2 dG9rZW4=", "XOAUTH2", "dG9rZW4=")]
    public void AuthCarriesMechanismAndInitialResponse(string line, string mechanism, string? initial) =>
        Assert.Equal(new AuthCommand(mechanism, initial), Parse.Ok<AuthCommand>(line));

    [Theory]
    [InlineData("AUTH")]
    [InlineData("AUTH PLAIN a b")]
    [InlineData("AUTH PL@IN")]
    [InlineData("AUTH ABCDEFGHIJKLMNOPQRSTU")]
    public void AuthWithBadArgumentsIsArgumentError(string line) =>
        Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("VRFY postmaster", "postmaster")]
    [InlineData("VRFY  John Smith ", "John Smith")]
    [InlineData("vrfy <user@example.com>", "<user@example.com>")]
    public void VrfyKeepsItsArgument(string line, string argument) =>
        Assert.Equal(new VrfyCommand(argument), Parse.Ok<VrfyCommand>(line));

    [Fact]
    public void ExpnKeepsItsArgument() => Assert.Equal(new ExpnCommand("staff"), Parse.Ok<ExpnCommand>("EXPN staff"));

    [Theory]
    [InlineData("VRFY")]
    [InlineData("EXPN")]
    [InlineData("EXPN   ")]
    public void VrfyAndExpnNeedAnArgument(string line) => Assert.Equal("501 5.5.4", Parse.Codes(Parse.Error(line)));

    [Theory]
    [InlineData("HELP", null)]
    [InlineData("HELP MAIL", "MAIL")]
    [InlineData("help  rcpt ", "rcpt")]
    public void HelpTopicIsOptional(string line, string? topic) =>
        Assert.Equal(new HelpCommand(topic), Parse.Ok<HelpCommand>(line));

    [Fact]
    public void ParseResultHasExactlyOneSide()
    {
        ParseResult ok = CommandParser.Parse("NOOP"u8);
        ParseResult bad = CommandParser.Parse(""u8);
        Assert.True(ok.IsSuccess);
        Assert.Null(ok.Error);
        Assert.False(bad.IsSuccess);
        Assert.NotNull(bad.Error);
    }
}
