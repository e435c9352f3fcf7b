using ActorMta.Configuration;
using ActorMta.Tests.Operations;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Delivery;

/// <summary>
/// A user list with postmaster, <c>local-delivery.aliases</c> and the recipient delimiter end to
/// end: RCPT replies, the maildir each message lands in, its Delivered-To:, the main-log lines, and
/// the bounce for a recipient no RCPT checked.
/// </summary>
public sealed class LocalUsersTests
{
    private static Task<TestMta> StartAsync(string delimiter = "") => TestMta.StartAsync(s => s with
    {
        Policy = s.Policy with { LocalUsers = new HashSet<string>(["alice"], StringComparer.OrdinalIgnoreCase) },
        LocalDelivery = s.LocalDelivery with
        {
            Aliases = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase) { ["abuse"] = ["alice"], ["staff"] = ["alice", "postmaster"] },
            RecipientDelimiter = delimiter,
        },
    });

    private static async Task SendAsync(RawSmtpClient client, string recipient, string subject)
    {
        await client.SendAsync($"MAIL FROM:<a@client.test>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Enter message, ending with \".\" on a line by itself\r\n", await client.ReadRepliesAsync(3));
        await client.SendAsync($"Subject: {subject}\r\n\r\nbody\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task With_a_user_list_postmaster_and_aliases_are_accepted_and_strangers_are_not()
    {
        await using var mta = await StartAsync();
        using var client = await mta.GreetedAsync();

        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<PostMaster@test.example>\r\nRCPT TO:<Postmaster>\r\n"
            + "RCPT TO:<ABUSE@test.example>\r\nRCPT TO:<alice@test.example>\r\nRCPT TO:<bob@test.example>\r\nRSET\r\n");

        Assert.Equal("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n"
            + "250 2.1.5 Recipient OK\r\n550 5.1.1 Unknown user\r\n250 2.0.0 Reset OK\r\n", await client.ReadRepliesAsync(7));
    }

    [Fact]
    public async Task An_alias_is_delivered_to_its_users_maildir_and_logged_with_the_envelope_recipient()
    {
        await using var mta = await StartAsync();
        using var client = await mta.GreetedAsync();

        await SendAsync(client, "Abuse@test.example", "spam report");

        string delivered = Assert.Single(await mta.WaitForMaildirAsync("alice"));
        Assert.StartsWith("Return-Path: <a@client.test>\r\nDelivered-To: Abuse@test.example\r\n", delivered, StringComparison.Ordinal);
        Assert.Contains("Subject: spam report", delivered, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(mta.Settings.LocalDelivery.MaildirRoot, "abuse")));
        string line = await mta.WaitForLogLineAsync(" => ");
        Assert.Contains(" => alice@test.example <Abuse@test.example> R=local_user T=maildir_delivery", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alias_for_several_users_puts_a_copy_in_each_maildir_and_logs_each()
    {
        await using var mta = await StartAsync();
        using var client = await mta.GreetedAsync();

        await SendAsync(client, "Staff@test.example", "meeting");

        string toAlice = Assert.Single(await mta.WaitForMaildirAsync("alice"));
        string toPostmaster = Assert.Single(await mta.WaitForMaildirAsync("postmaster"));
        Assert.Equal(toAlice, toPostmaster);
        Assert.StartsWith("Return-Path: <a@client.test>\r\nDelivered-To: Staff@test.example\r\n", toAlice, StringComparison.Ordinal);
        string id = (await mta.WaitForLogLineAsync(" => alice@test.example <Staff@test.example> R=local_user T=maildir_delivery")).Split(' ')[2];
        await mta.WaitForLogLineAsync($"{id} => postmaster@test.example <Staff@test.example> R=local_user T=maildir_delivery");
        await mta.WaitForLogLineAsync($"{id} Completed");
    }

    [Fact]
    public async Task Postmaster_without_an_alias_has_a_maildir_of_its_own()
    {
        await using var mta = await StartAsync();
        using var client = await mta.GreetedAsync();

        await client.SendAsync("MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync("Subject: to the postmaster\r\n\r\nhello\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1));

        string delivered = Assert.Single(await mta.WaitForMaildirAsync("postmaster"));
        Assert.Contains($"Delivered-To: Postmaster@{TestMta.Hostname}\r\n", delivered, StringComparison.Ordinal);
        Assert.Contains($" => Postmaster@{TestMta.Hostname} R=local_user", await mta.WaitForLogLineAsync(" => "), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_recipient_delimiter_a_detail_reaches_its_user_and_is_logged_with_the_envelope_recipient()
    {
        await using var mta = await StartAsync(delimiter: "+");
        using var client = await mta.GreetedAsync();

        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<bob+x@test.example>\r\nRCPT TO:<+alice@test.example>\r\nRSET\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n550 5.1.1 Unknown user\r\n550 5.1.1 Unknown user\r\n250 2.0.0 Reset OK\r\n", await client.ReadRepliesAsync(4));
        await SendAsync(client, "Alice+Lists@test.example", "detail");
        await SendAsync(client, "abuse+phish@test.example", "aliased detail");

        string[] delivered = await mta.WaitForMaildirAsync("alice", 2);
        Assert.Contains(delivered, m => m.Contains("Delivered-To: Alice+Lists@test.example\r\n", StringComparison.Ordinal));
        Assert.Contains(delivered, m => m.Contains("Delivered-To: abuse+phish@test.example\r\n", StringComparison.Ordinal));
        Assert.Equal(["alice"], Directory.GetDirectories(mta.Settings.LocalDelivery.MaildirRoot).Select(Path.GetFileName));
        await mta.WaitForLogLineAsync(" => alice@test.example <Alice+Lists@test.example> R=local_user T=maildir_delivery");
        await mta.WaitForLogLineAsync(" => alice@test.example <abuse+phish@test.example> R=local_user T=maildir_delivery");
    }

    [Fact]
    public async Task Without_a_recipient_delimiter_a_plus_is_part_of_the_name()
    {
        await using var mta = await StartAsync();
        using var client = await mta.GreetedAsync();
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<alice+x@test.example>\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n550 5.1.1 Unknown user\r\n", await client.ReadRepliesAsync(2));
    }

    [Fact]
    public async Task Mail_for_an_unknown_user_that_no_RCPT_checked_bounces_and_makes_no_maildir()
    {
        await using var mta = await StartAsync();

        var r = await Operator.RunAsync(mta.Directory, ["sendmail", "-f", "alice@test.example", "nobody@test.example", "abuse@test.example"], "Subject: cron\n\nx\n");

        Assert.Equal(0, r.ExitCode);
        string failed = await mta.WaitForLogLineAsync(" ** nobody@test.example ");
        Assert.EndsWith(" ** nobody@test.example R=local_user T=maildir_delivery: unknown user (not in policy.local-users)", failed, StringComparison.Ordinal);
        string[] alice = await mta.WaitForMaildirAsync("alice", 2);
        string bounce = Assert.Single(alice, m => m.Contains("Return-Path: <>\r\n", StringComparison.Ordinal));
        Assert.Contains("Final-Recipient: rfc822; nobody@test.example", bounce, StringComparison.Ordinal);
        Assert.Contains("Status: 5.1.1", bounce, StringComparison.Ordinal);
        Assert.Contains(alice, m => m.Contains("Delivered-To: abuse@test.example\r\n", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(mta.Settings.LocalDelivery.MaildirRoot, "nobody")));
    }
}
