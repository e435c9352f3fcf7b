using System.Diagnostics;
using System.Text.RegularExpressions;
using ActorMta.Tests.Support;
using static ActorMta.Tests.Auth.AuthTestKit;

namespace ActorMta.Tests.Auth;

/// <summary>SMTP AUTH (RFC 4954) on the server, over real sockets, as a client sees it.</summary>
public sealed class ServerAuthTests
{
    [Fact]
    public async Task AuthIsNotOfferedInClearTextByDefaultAndIsRefusedWith538()
    {
        await using var mta = await TestMta.StartAsync();
        AddUser(mta.Settings.Auth.UsersFile, "alice", "wonderland");
        var (client, ehlo) = await GreetedAsync(mta.EndPoint);
        using var _ = client;

        Assert.DoesNotContain("AUTH", ehlo, StringComparison.Ordinal);
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism\r\n", await client.ReadRepliesAsync(1));
        // And nothing was authenticated: relaying is still refused.
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@elsewhere.example>\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n550 5.7.1 Relay not permitted\r\n", await client.ReadRepliesAsync(2));
    }

    [Fact]
    public async Task PlainWithInitialResponseAuthenticatesAndAllowsRelayWithTheExactLogLine()
    {
        await using var mta = await StartAsync();
        var (client, ehlo) = await GreetedAsync(mta.EndPoint);
        using var _ = client;
        Assert.Contains("250-AUTH PLAIN LOGIN\r\n", ehlo, StringComparison.Ordinal);

        // Before AUTH: no relay.
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@elsewhere.example>\r\nRSET\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n550 5.7.1 Relay not permitted\r\n250 2.0.0 Reset OK\r\n", await client.ReadRepliesAsync(3));

        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@elsewhere.example>\r\nDATA\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Enter message, ending with \".\" on a line by itself\r\n",
            await client.ReadRepliesAsync(3));
        await client.SendAsync("Subject: relayed\r\n\r\nbody\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1), StringComparison.Ordinal);

        var line = await mta.WaitForLogLineAsync("<= alice@client.test");
        Assert.Matches(new Regex(
            @"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ <= alice@client\.test H=\(client\.test\) \[127\.0\.0\.1\]:\d+ P=esmtpa L\. A=plain:alice S=\d+ for bob@elsewhere\.example$"),
            line);
    }

    [Fact]
    public async Task PlainAfterAnEmptyChallengeAndLoginStepByStep()
    {
        await using var mta = await StartAsync();
        var (client, _) = await GreetedAsync(mta.EndPoint);
        using var c = client;

        await client.SendAsync("AUTH PLAIN\r\n");
        Assert.Equal("334 \r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("*\r\n");
        Assert.Equal("501 5.0.0 Authentication cancelled\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync("AUTH PLAIN =\r\n");
        Assert.Equal("501 5.5.2 Malformed authentication data\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync("AUTH LOGIN\r\n");
        Assert.Equal("334 VXNlcm5hbWU6\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("not base64!\r\n");
        Assert.Equal("501 5.5.2 Invalid base64 data\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync("AUTH CRAM-MD5\r\n");
        Assert.Equal("504 5.5.4 Unrecognized authentication type\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync("AUTH LOGIN\r\n");
        Assert.Equal("334 VXNlcm5hbWU6\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync(B64("alice") + "\r\n");
        Assert.Equal("334 UGFzc3dvcmQ6\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync(B64("wonderland") + "\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("503 5.5.1 Already authenticated\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync("MAIL FROM:<alice@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync("Subject: by login\r\n\r\nbody\r\n.\r\n");
        await client.ReadRepliesAsync(1);
        var line = await mta.WaitForLogLineAsync("<= alice@client.test");
        Assert.Contains(" P=esmtpa L. A=login:alice S=", line, StringComparison.Ordinal);
        var stored = (await mta.WaitForMaildirAsync("user")).Single();
        Assert.Contains("(ActorMta) with ESMTPA\r\n", stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthIsRefusedBeforeEhloAndDuringATransaction()
    {
        await using var mta = await StartAsync();
        using var early = await RawSmtpClient.ConnectAsync(mta.EndPoint);
        await early.ReadRepliesAsync(1);
        await early.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("503 5.5.1 Bad sequence of commands: expected EHLO, HELO\r\n", await early.ReadRepliesAsync(1));

        var (client, _) = await GreetedAsync(mta.EndPoint);
        using var c = client;
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("503 5.5.1 Bad sequence of commands: expected EHLO, HELO, RCPT\r\n", await client.ReadRepliesAsync(1));

        // HELO (not EHLO) never offers AUTH.
        await client.SendAsync("HELO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("503 5.5.1 AUTH command used when not advertised\r\n", await client.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task WrongPasswordGets535AfterTheDelayAndTheRateLimitCloses()
    {
        await using var mta = await StartAsync(a => a with { MaxFailures = 3, FailureDelay = TimeSpan.FromMilliseconds(300) });
        var (client, _) = await GreetedAsync(mta.EndPoint);
        using var c = client;

        var clock = Stopwatch.StartNew();
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "guess1")}\r\nNOOP\r\n");
        // The NOOP pipelined behind AUTH PLAIN is answered after the 535, which waited for the delay.
        Assert.Equal("535 5.7.8 Incorrect authentication data\r\n250 2.0.0 OK\r\n", await client.ReadRepliesAsync(2));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"535 came after {clock.Elapsed}");
        var failed = await mta.WaitForLogLineAsync("plain authenticator failed for");
        Assert.Matches(new Regex(@" plain authenticator failed for \(client\.test\) \[127\.0\.0\.1\]:\d+: 535 Incorrect authentication data \(set_id=alice\)$"), failed);

        await client.SendAsync($"AUTH PLAIN {Plain("nobody", "guess2")}\r\n");
        Assert.Equal("535 5.7.8 Incorrect authentication data\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "guess3")}\r\n");
        Assert.Equal("421 4.7.0 mx.test.example Too many authentication failures - closing connection\r\n", await client.ReadRepliesAsync(1));
        Assert.True(await client.IsClosedByServerAsync());
        await mta.WaitForLogLineAsync("closed: too many failed AUTH attempts from [127.0.0.1]");

        // A new connection from the same address is refused AUTH, even with the right password.
        var (again, _) = await GreetedAsync(mta.EndPoint);
        using var a2 = again;
        await again.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("454 4.7.0 Too many failed authentication attempts from your address; try again later\r\n", await again.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task SubmissionListenerRequiresAuthBeforeMail()
    {
        await using var mta = await StartAsync(submission: true);
        var submission = mta.Node.BoundEndPoints[1];
        var (client, ehlo) = await GreetedAsync(submission);
        using var c = client;
        Assert.Contains("250-AUTH PLAIN LOGIN\r\n", ehlo, StringComparison.Ordinal);

        await client.SendAsync("MAIL FROM:<alice@client.test>\r\n");
        Assert.Equal("530 5.7.0 Authentication required\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n", await client.ReadRepliesAsync(1));

        // The port-25 style listener of the same node still takes mail without AUTH.
        var (plain, _) = await GreetedAsync(mta.EndPoint);
        using var p = plain;
        await plain.SendAsync("MAIL FROM:<a@client.test>\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n", await plain.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task AChangedUsersFileIsUsedWithoutARestart()
    {
        await using var mta = await StartAsync();
        AddUser(mta.Settings.Auth.UsersFile, "alice", "new-password");
        AddUser(mta.Settings.Auth.UsersFile, "carol", "c-pass");

        var (client, _) = await GreetedAsync(mta.EndPoint);
        using var c = client;
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("535 5.7.8 Incorrect authentication data\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync($"AUTH PLAIN {Plain("carol", "c-pass")}\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await client.ReadRepliesAsync(1));
        await mta.WaitForLogLineAsync("users file ", " loaded: 2 users");
    }

    [Fact]
    public async Task ABadUsersFileReloadKeepsThePreviousUsersAndNamesFileAndLine()
    {
        await using var mta = await StartAsync();
        string file = mta.Settings.Auth.UsersFile;
        var (first, _) = await GreetedAsync(mta.EndPoint);
        using var f = first;
        await first.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await first.ReadRepliesAsync(1));

        File.AppendAllText(file, "# a comment\nmallory:$pbkdf2-sha256$abc$AAAA$AAAA\n");

        var (client, _) = await GreetedAsync(mta.EndPoint);
        using var c = client;
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await client.ReadRepliesAsync(1));
        await mta.WaitForLogLineAsync($"users file not reloaded, the previous users stay in force: {file}:3: user \"mallory\": iteration count must be a number");
    }
}
