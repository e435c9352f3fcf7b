using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// What a client sends reaches the main log only as printable text: control characters in a
/// Message-ID are escaped on the <c>&lt;=</c> line, and an address carrying one is refused before
/// anything is logged. A log line is one line, and nobody's terminal runs a client's escape sequence.
/// </summary>
public sealed class LogSafetyTests
{
    [Fact]
    public async Task Control_characters_in_the_Message_ID_are_escaped_on_the_reception_line()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.GreetedAsync();
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync("Message-ID: <\u001b[2J\u0007x\u009by@client.test>\r\nSubject: ids\r\n\r\nhello\r\n.\r\n");
        var id = System.Text.RegularExpressions.Regex.Match(await client.ReadRepliesAsync(1), @"id=(\S+)").Groups[1].Value;

        string line = await mta.WaitForLogLineAsync($"{id} <= a@client.test");
        Assert.Contains(@" id=\x1b[2J\x07x\x9by@client.test for user@test.example", line);
        Assert.DoesNotContain(line, c => char.IsControl(c));
    }

    [Fact]
    public async Task An_address_with_a_C1_control_character_is_refused_and_never_logged()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.GreetedAsync();
        await client.SendAsync("MAIL FROM:<a\u009b31m@client.test> SMTPUTF8\r\n");
        Assert.Equal("500 5.5.2 Syntax error, command contains invalid characters\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("QUIT\r\n");
        await client.ReadRepliesAsync(1);
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Any(char.IsControl));
    }
}
