using ActorMta.Tests.Support;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorMta.Tests.Auth;

/// <summary>MailKit, a widely used client, authenticating to the submission listener.</summary>
public sealed class MailKitAuthTests
{
    private static MimeMessage Message(string to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@client.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = "submitted";
        message.Body = new TextPart("plain") { Text = "Hello through submission." };
        return message;
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task MailKitAuthenticatesOnTheSubmissionPortAndRelays(string mechanism)
    {
        await using var mta = await AuthTestKit.StartAsync(submission: true);
        var submission = mta.Node.BoundEndPoints[1];
        using var client = new SmtpClient { LocalDomain = "client.test" };
        await client.ConnectAsync(submission.Address.ToString(), submission.Port, SecureSocketOptions.None);
        Assert.Equal(["PLAIN", "LOGIN"], client.AuthenticationMechanisms.Order().Reverse());

        // Without AUTH the submission port refuses the envelope.
        // (MailKit turns the 530 into this exception; the raw bytes are checked in ServerAuthTests.)
        await Assert.ThrowsAsync<ServiceNotAuthenticatedException>(() => client.SendAsync(Message("bob@elsewhere.example")));

        client.AuthenticationMechanisms.RemoveWhere(m => m != mechanism); // MailKit would pick PLAIN otherwise
        await client.AuthenticateAsync("alice", "wonderland");
        await client.SendAsync(Message("bob@elsewhere.example"));
        await client.DisconnectAsync(true);

        var line = await mta.WaitForLogLineAsync("<= alice@client.test");
        Assert.Contains($" P=esmtpa L. A={mechanism.ToLowerInvariant()}:alice S=", line, StringComparison.Ordinal);
        Assert.EndsWith(" for bob@elsewhere.example", line, StringComparison.Ordinal);
    }
}
