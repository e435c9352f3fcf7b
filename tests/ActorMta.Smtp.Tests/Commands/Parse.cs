using System.Text;

namespace ActorMta.Smtp.Tests;

/// <summary>Test helpers: parse a line given as text, expect success or a given error.</summary>
internal static class Parse
{
    public static T Ok<T>(string line)
        where T : SmtpCommand
    {
        ParseResult result = CommandParser.Parse(Encoding.UTF8.GetBytes(line));
        Assert.True(result.IsSuccess, $"'{line}' failed: {result.Error}");
        Assert.Null(result.Error);
        return Assert.IsType<T>(result.Command);
    }

    public static SmtpReply Error(string line) => Error(Encoding.UTF8.GetBytes(line));

    public static SmtpReply Error(byte[] line)
    {
        ParseResult result = CommandParser.Parse(line);
        Assert.False(result.IsSuccess, $"'{Encoding.UTF8.GetString(line)}' parsed as {result.Command}");
        Assert.Null(result.Command);
        return result.Error!;
    }

    /// <summary>"500 5.5.2" style: the code and enhanced code, which is what a client acts on.</summary>
    public static string Codes(SmtpReply reply) => $"{reply.Code} {reply.Enhanced}";
}
