using System.Net;
using ActorMta.Configuration;
using ActorMta.Tests.Support;
using Xunit;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary>
/// actormta.listen, listen-submission and listen-tls-on-connect: any of them may be empty, not all
/// three. A submission-only node is a real set-up (a relay that only takes mail from its users).
/// </summary>
public sealed class ListenerListsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("actormta-listen-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("listen-submission", ListenerKind.Submission)]
    [InlineData("listen-tls-on-connect", ListenerKind.TlsOnConnect)]
    public void ListenMayBeEmptyWhenAnotherListHasAnAddress(string other, ListenerKind kind)
    {
        var settings = SettingsLoader.Load(null, ["actormta.listen = []", $"actormta.{other} = [\"127.0.0.1:4650\"]"]).Settings;

        ListenerSettings listener = Assert.Single(settings.Listeners);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4650), listener.EndPoint);
        Assert.Equal(kind, listener.Kind);
    }

    [Fact]
    public void AllThreeEmptyIsOneErrorOnListenWithFileAndLine()
    {
        string file = Path.Combine(_folder, "test.conf");
        File.WriteAllText(file, "actormta {\n  listen-submission = []\n  listen = []\n}\n");

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:3: actormta.listen: at least one address to listen on is required, here or in "
            + "actormta.listen-submission or actormta.listen-tls-on-connect, e.g. [\"127.0.0.1:2525\"]", error.ToString());
    }

    [Fact]
    public void ABadEntryInAnotherListIsTheOnlyError()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            SettingsLoader.Load(null, ["actormta.listen = []", "actormta.listen-submission = [\"localhost:587\"]"]));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal("actormta.listen-submission", error.Path);
    }

    /// <summary>The loaded list, all the way to a socket: the node starts with a submission port only and serves on it.</summary>
    [Fact]
    public async Task ASubmissionOnlyNodeStartsAndAsksForAuthentication()
    {
        var listeners = SettingsLoader.Load(null, ["actormta.listen = []", "actormta.listen-submission = [\"127.0.0.1:0\"]"]).Settings.Listeners;
        await using var mta = await TestMta.StartAsync(s => s with { Listeners = listeners });

        Assert.Single(mta.Node.BoundEndPoints);
        using var client = await RawSmtpClient.ConnectAsync(mta.EndPoint);
        Assert.StartsWith("220 ", await client.ReadRepliesAsync(1), StringComparison.Ordinal);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\n");
        Assert.Equal("530 5.7.0 Authentication required\r\n", await client.ReadRepliesAsync(1));
    }
}
