using System.Net;
using System.Text;
using ActorMta.Auth;
using ActorMta.Configuration;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Auth;

/// <summary>Users files and AUTH-enabled nodes for the AUTH tests. Hashes use few iterations so tests stay fast.</summary>
internal static class AuthTestKit
{
    public const int FastIterations = 1_000;

    public static void AddUser(string usersFile, string name, string password) =>
        UsersFile.Set(usersFile, name, PasswordHash.Create(password, FastIterations));

    public static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    public static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>A node with AUTH allowed in clear text (no TLS needed), no failure delay, and user alice/wonderland.</summary>
    public static async Task<TestMta> StartAsync(Func<AuthSettings, AuthSettings>? auth = null, bool submission = false)
    {
        var mta = await TestMta.StartAsync(s =>
        {
            var settings = s with
            {
                Auth = (auth ?? (a => a))(s.Auth with { AllowCleartext = true, FailureDelay = TimeSpan.Zero }),
            };
            if (submission)
            {
                settings = settings with
                {
                    Listeners = [.. s.Listeners, new ListenerSettings(new IPEndPoint(IPAddress.Loopback, 0), ListenerKind.Submission)],
                };
            }

            return settings;
        });
        AddUser(mta.Settings.Auth.UsersFile, "alice", "wonderland");
        return mta;
    }

    /// <summary>Connected, banner read, EHLO sent; returns the EHLO reply too.</summary>
    public static async Task<(RawSmtpClient Client, string Ehlo)> GreetedAsync(IPEndPoint endPoint)
    {
        var client = await RawSmtpClient.ConnectAsync(endPoint);
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        return (client, await client.ReadRepliesAsync(1));
    }
}
