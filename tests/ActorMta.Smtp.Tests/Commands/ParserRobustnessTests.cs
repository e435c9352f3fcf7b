namespace ActorMta.Smtp.Tests;

/// <summary>Property-style: whatever a client sends, the parser answers with exactly one of command or error and never throws.</summary>
public class ParserRobustnessTests
{
    private static readonly string[] Seeds =
    [
        "MAIL FROM:<a@example.com> SIZE=10 BODY=8BITMIME",
        "RCPT TO:<\"q\\\"x\"@[IPv6:2001:db8::1]> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@c",
        "RCPT TO:<@a,@b:user@c.example>",
        "EHLO [192.0.2.1]",
        "BDAT 100 LAST",
        "AUTH PLAIN AGZvbwBiYXI=",
    ];

    [Fact]
    public void RandomMutationsOfValidCommandsNeverThrow()
    {
        var random = new Random(1869);
        byte[] alphabet = "<>@:\"\\.,;=+ []-_aZ09\t\r\0"u8.ToArray();
        for (int round = 0; round < 20_000; round++)
        {
            byte[] line = System.Text.Encoding.UTF8.GetBytes(Seeds[round % Seeds.Length]);
            int edits = random.Next(1, 4);
            for (int e = 0; e < edits; e++)
            {
                int at = random.Next(line.Length);
                line[at] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            }

            int cut = random.Next(line.Length + 1);
            ParseResult result = CommandParser.Parse(line.AsSpan(0, cut));
            Assert.True(result.Command is null ^ result.Error is null);
        }
    }

    [Fact]
    public void RandomBytesNeverThrow()
    {
        var random = new Random(5322);
        byte[] line = new byte[600];
        for (int round = 0; round < 5_000; round++)
        {
            int length = random.Next(line.Length);
            random.NextBytes(line.AsSpan(0, length));
            ParseResult result = CommandParser.Parse(line.AsSpan(0, length));
            Assert.True(result.Command is null ^ result.Error is null);
        }
    }
}
