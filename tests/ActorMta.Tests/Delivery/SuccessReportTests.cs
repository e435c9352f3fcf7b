using ActorMta.Tests.Support;

namespace ActorMta.Tests.Delivery;

/// <summary>RCPT ... NOTIFY=SUCCESS over SMTP for a local recipient: the sender hears of the delivery (RFC 3461), once.</summary>
public sealed class SuccessReportTests
{
    [Fact]
    public async Task A_local_delivery_asked_for_with_NOTIFY_SUCCESS_is_reported_delivered_to_the_sender()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.GreetedAsync();

        await client.SendAsync("MAIL FROM:<alice@test.example>\r\nRCPT TO:<ann@test.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ann@test.example\r\n"
            + "RCPT TO:<bob@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(4);
        await client.SendAsync("Subject: minutes\r\n\r\nattached\r\n.\r\n");
        string accepted = await client.ReadRepliesAsync(1);
        string id = accepted["250 2.0.0 OK id=".Length..accepted.IndexOf('\r')];

        string line = await mta.WaitForLogLineAsync($"{id} success report sent to alice@test.example as ");
        Assert.EndsWith(" (ann@test.example)", line, StringComparison.Ordinal);
        await mta.WaitForLogLineAsync($"{id} Completed");
        string report = Assert.Single(await mta.WaitForMaildirAsync("alice"));
        Assert.Contains($"Subject: Delivery report: message {id} delivered\r\n", report, StringComparison.Ordinal);
        Assert.Contains("Original-Recipient: rfc822; ann@test.example\r\nFinal-Recipient: rfc822; ann@test.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n",
            report, StringComparison.Ordinal);
        Assert.DoesNotContain("bob@test.example", report, StringComparison.Ordinal);
        Assert.DoesNotContain("attached", report, StringComparison.Ordinal);
        Assert.Single(await mta.WaitForMaildirAsync("ann"));
        Assert.Single(await mta.WaitForMaildirAsync("bob"));
        Assert.Equal(0, mta.SpooledFileCount());
    }
}
