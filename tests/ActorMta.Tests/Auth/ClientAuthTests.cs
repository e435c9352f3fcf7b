using ActorMta.Configuration;
using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Tests.Support;
using ActorMta.Tests.Tls;

namespace ActorMta.Tests.Auth;

/// <summary>
/// Client SMTP AUTH: one ActorMta relays through a smarthost route with credentials to another
/// ActorMta that only relays for authenticated clients. Both real, over loopback.
/// </summary>
public sealed class ClientAuthTests(TlsFixture tls) : IClassFixture<TlsFixture>
{
    private static Func<MtaSettings, MtaSettings> Relay(int serverPort, SmarthostAuth auth) => s => s with
    {
        PrimaryHostname = "relay.test.example",
        Policy = s.Policy with { LocalDomains = DomainList.Parse(["relay.test.example"]), RelayToDomains = DomainList.Parse(["elsewhere.example"]) },
        Routing = s.Routing with
        {
            LocalDomains = DomainList.Parse(["relay.test.example"]),
            Smarthosts = [new SmarthostRoute("smarthost", DomainList.Parse(["elsewhere.example"]), [$"127.0.0.1:{serverPort}"]) { Auth = auth }],
        },
    };

    private static async Task<string> SubmitAsync(TestMta mta)
    {
        using var client = await mta.ConnectAsync();
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<bob@elsewhere.example>\r\nDATA\r\n");
        Assert.EndsWith("354 Enter message, ending with \".\" on a line by itself\r\n", await client.ReadRepliesAsync(3));
        await client.SendAsync("Subject: via smarthost\r\n\r\nrelayed\r\n.\r\nQUIT\r\n");
        var replies = await client.ReadRepliesAsync(2);
        Assert.StartsWith("250 2.0.0 OK id=", replies, StringComparison.Ordinal);
        return replies["250 2.0.0 OK id=".Length..replies.IndexOf('\r', StringComparison.Ordinal)];
    }

    [Fact]
    public async Task TheRelayLogsInWithPlainAndBothSidesLogA()
    {
        await using var server = await AuthTestKit.StartAsync();
        await using var relay = await TestMta.StartAsync(Relay(server.EndPoint.Port, new SmarthostAuth("alice", "wonderland", AllowCleartext: true)));

        var id = await SubmitAsync(relay);

        var delivered = await relay.WaitForLogLineAsync($"{id} => bob@elsewhere.example");
        Assert.Matches(@" R=smarthost T=remote_smtp H=127\.0\.0\.1 \[127\.0\.0\.1\]:\d+ A=plain:alice L K C=""250 2\.0\.0 OK id=\S+"" DT=", delivered);
        var received = await server.WaitForLogLineAsync("<= a@client.test");
        Assert.Matches(@" H=\(relay\.test\.example\) \[127\.0\.0\.1\]:\d+ P=esmtpa L\.? K A=plain:alice S=\d+ for bob@elsewhere\.example$", received);
    }

    [Fact]
    public async Task AWrongPasswordDefersAndNothingIsSent()
    {
        await using var server = await AuthTestKit.StartAsync();
        await using var relay = await TestMta.StartAsync(Relay(server.EndPoint.Port, new SmarthostAuth("alice", "not-it", AllowCleartext: true)));

        var id = await SubmitAsync(relay);

        var deferred = await relay.WaitForLogLineAsync($"{id} == bob@elsewhere.example");
        Assert.Contains("route smarthost: SMTP AUTH PLAIN as alice refused by 127.0.0.1 [127.0.0.1]:", deferred, StringComparison.Ordinal);
        Assert.Contains(": 535 5.7.8 Incorrect authentication data", deferred, StringComparison.Ordinal);
        Assert.DoesNotContain("not-it", string.Join('\n', relay.MainLogLines()), StringComparison.Ordinal);
        Assert.DoesNotContain(server.MainLogLines(), l => l.Contains(" <= ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutTlsTheCredentialsAreNotSentUnlessTheRouteAllowsClearText()
    {
        await using var server = await AuthTestKit.StartAsync();
        await using var relay = await TestMta.StartAsync(Relay(server.EndPoint.Port, new SmarthostAuth("alice", "wonderland", AllowCleartext: false)));

        var id = await SubmitAsync(relay);

        var deferred = await relay.WaitForLogLineAsync($"{id} == bob@elsewhere.example");
        Assert.Contains("route smarthost: SMTP AUTH to 127.0.0.1 [127.0.0.1]:", deferred, StringComparison.Ordinal);
        Assert.Contains(" needs TLS, and the connection is not encrypted", deferred, StringComparison.Ordinal);
        Assert.DoesNotContain(server.MainLogLines(), l => l.Contains("authenticator", StringComparison.Ordinal) || l.Contains(" <= ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OverStartTlsToASubmissionPortThatRequiresAuth()
    {
        await using var server = await TestMta.StartAsync(tls.Settings(ListenerKind.Submission, s => s with
        {
            Auth = s.Auth with { FailureDelay = TimeSpan.Zero }, // clear text not allowed: AUTH only after STARTTLS
        }));
        AuthTestKit.AddUser(server.Settings.Auth.UsersFile, "alice", "wonderland");
        await using var relay = await TestMta.StartAsync(Relay(server.EndPoint.Port, new SmarthostAuth("alice", "wonderland", AllowCleartext: false)));

        var id = await SubmitAsync(relay);

        var delivered = await relay.WaitForLogLineAsync($"{id} => bob@elsewhere.example");
        Assert.Matches(@" X=TLS1\.3:\S+ CV=no A=plain:alice L K C=""250 ", delivered);
        var received = await server.WaitForLogLineAsync("<= a@client.test");
        Assert.Matches(@" P=esmtpsa L\.? X=TLS1\.3:\S+ CV=no K A=plain:alice S=\d+ for bob@elsewhere\.example$", received);
    }
}

/// <summary>The route's <c>auth { }</c> object as the configuration reads it.</summary>
public sealed class SmarthostAuthConfigurationTests
{
    [Fact]
    public void TheAuthObjectIsReadAndItsMistakesNamed()
    {
        var loaded = ActorMta.Configuration.SettingsLoader.Load(null,
            ["actormta.routing.smarthosts=[{name=isp, domains=[\"*\"], hosts=[\"10.0.0.5:587\"], auth={user=me, password=\"s3cret\", allow-cleartext=on}}]"]);
        var route = Assert.Single(loaded.Settings.Routing.Smarthosts);
        Assert.Equal(new SmarthostAuth("me", "s3cret", true), route.Auth);
        Assert.DoesNotContain("s3cret", route.Auth!.ToString(), StringComparison.Ordinal);

        var error = Assert.Throws<ActorMta.Configuration.ConfigurationException>(() => ActorMta.Configuration.SettingsLoader.Load(null,
            ["actormta.routing.smarthosts=[{name=isp, domains=[\"*\"], hosts=[\"10.0.0.5\"], auth={user=me, pasword=x}}]"]));
        Assert.Contains(error.Errors, e => e.ToString().Contains("actormta.routing.smarthosts[0].auth: unknown key \"pasword\" (expected user, password, allow-cleartext)", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.ToString().Contains("actormta.routing.smarthosts[0].auth: \"user\" and \"password\" must be non-empty strings", StringComparison.Ordinal));
    }
}
