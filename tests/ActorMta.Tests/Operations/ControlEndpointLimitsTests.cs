using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ActorMta.Configuration;
using ActorMta.Control;

namespace ActorMta.Tests.Operations;

/// <summary>
/// The control socket's two limits: a client that sends no request is cut off after
/// <c>control.request-timeout</c>, and no more than <c>control.max-connections</c> are served at
/// once (the rest wait in the listen backlog, and are served as others end).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ControlEndpointLimitsTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "actormta-control-" + Guid.NewGuid().ToString("N")[..12]);

    public ControlEndpointLimitsTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string SocketPath => Path.Combine(_directory, "actormta.control.socket");

    private ControlServer Start(TimeSpan requestTimeout, int maxConnections) => ControlServer.Start(SocketPath,
        _ => Task.FromResult(new ControlAnswer(new JsonObject { ["ok"] = true, ["count"] = 7 })),
        maxData: 1024, requestTimeout, maxConnections);

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath));
        return socket;
    }

    [Fact]
    public async Task A_client_that_sends_no_request_is_cut_off_after_the_request_timeout()
    {
        using var server = Start(TimeSpan.FromMilliseconds(500), maxConnections: 4);
        using var silent = await ConnectAsync();
        var clock = Stopwatch.StartNew();

        var buffer = new byte[64];
        int read = await silent.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, read); // closed, with nothing said: there is no request to answer
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
        // The server still answers the next client.
        var answer = await ControlClient.SendAsync(SocketPath, new JsonObject { ["command"] = "count" }, default, TimeSpan.FromSeconds(5));
        Assert.Equal(7, (int?)answer["count"]);
    }

    [Fact]
    public async Task Connections_beyond_the_limit_wait_until_one_ends_and_are_then_served()
    {
        using var server = Start(TimeSpan.FromSeconds(60), maxConnections: 2);
        using var first = await ConnectAsync();
        using var second = await ConnectAsync();

        var third = ControlClient.SendAsync(SocketPath, new JsonObject { ["command"] = "count" }, default, TimeSpan.FromSeconds(20));
        await Task.Delay(700);
        Assert.False(third.IsCompleted, "a third connection was served while two held both places");

        first.Close();
        var answer = await third.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(7, (int?)answer["count"]);
    }

    [Fact]
    public void The_limits_come_from_the_configuration()
    {
        var defaults = SettingsLoader.Load(null, []).Settings.Control;
        Assert.Equal(TimeSpan.FromSeconds(60), defaults.RequestTimeout);
        Assert.Equal(16, defaults.MaxConnections);

        var set = SettingsLoader.Load(null, ["actormta.control.request-timeout=5s", "actormta.control.max-connections=3"]).Settings.Control;
        Assert.Equal(TimeSpan.FromSeconds(5), set.RequestTimeout);
        Assert.Equal(3, set.MaxConnections);

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(null, ["actormta.control.max-connections=0"]));
        Assert.Contains("actormta.control.max-connections", Assert.Single(e.Errors).ToString());
    }
}
