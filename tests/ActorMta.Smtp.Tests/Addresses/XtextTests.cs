using System.Text;

namespace ActorMta.Smtp.Tests;

public class XtextTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a+2Bb", "a+b")]
    [InlineData("a+3Db", "a=b")]
    [InlineData("+20space+20", " space ")]
    [InlineData("lower+2bhex", "lower+hex")]
    [InlineData("j+C3+B6rg", "jörg")]
    [InlineData("", "")]
    public void DecodesHexcharsAndKeepsXchars(string xtext, string expected)
    {
        Assert.True(Xtext.TryDecode(Encoding.ASCII.GetBytes(xtext), out string value));
        Assert.Equal(expected, value);
        Assert.Equal(expected, Xtext.Decode(xtext));
    }

    [Theory]
    [InlineData("a+")]
    [InlineData("a+4")]
    [InlineData("a+GG")]
    [InlineData("a=b")]
    [InlineData("a b")]
    [InlineData("+FF")]
    [InlineData("jörg")]
    public void RejectsWhatIsNotXtext(string xtext)
    {
        Assert.False(Xtext.TryDecode(xtext, out _));
        Assert.Throws<FormatException>(() => Xtext.Decode(xtext));
    }

    [Theory]
    [InlineData("a+b=c", "a+2Bb+3Dc")]
    [InlineData("user@example.com", "user@example.com")]
    [InlineData("two words", "two+20words")]
    [InlineData("jörg", "j+C3+B6rg")]
    public void EncodesWithUpperCaseHex(string value, string expected)
    {
        Assert.Equal(expected, Xtext.Encode(value));
        Assert.Equal(value, Xtext.Decode(Xtext.Encode(value)));
    }
}
