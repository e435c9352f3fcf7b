using System.Diagnostics;
using ActorMta.Tests.HostProgram;
using ActorMta.Tests.Support;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorMta.Tests.Auth;

/// <summary><c>actormta user add|list|remove</c> run as the real program, then the password used over SMTP.</summary>
public sealed class UserCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actormta-usercmd-" + Guid.NewGuid().ToString("N")[..12]);

    public UserCommandTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(string? stdin, params string[] args)
    {
        var psi = ProgramTests.StartInfo(_folder, args);
        psi.RedirectStandardInput = true;
        using var process = Process.Start(psi)!;
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task UserAddedByTheProgramLogsInWithMailKit()
    {
        string file = Path.Combine(_folder, "users");
        var added = await RunAsync("pass word 1\n", "user", "add", "alice", "--users-file", file, "--password-stdin",
            "--set", "actormta.auth.password-iterations=2000");
        Assert.Equal((0, $"user alice added to {file}\n", ""), added);
        Assert.StartsWith("alice:$pbkdf2-sha256$2000$", File.ReadAllText(file), StringComparison.Ordinal);

        var badName = await RunAsync("x\n", "user", "add", "bad:name", "--users-file", file);
        Assert.Equal(2, badName.Code);
        Assert.Equal("actormta: user name \"bad:name\" contains ':', white space or a control character\n", badName.Stderr);

        Assert.Equal((0, "alice\n", ""), await RunAsync(null, "user", "list", "--users-file", file));

        await using var mta = await TestMta.StartAsync(s => s with { Auth = s.Auth with { UsersFile = file, AllowCleartext = true, FailureDelay = TimeSpan.Zero } });
        using (var client = new SmtpClient { LocalDomain = "client.test" })
        {
            await client.ConnectAsync(mta.EndPoint.Address.ToString(), mta.EndPoint.Port, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("alice", "pass word 2"));
            await client.AuthenticateAsync("alice", "pass word 1");
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("alice@client.test"));
            message.To.Add(MailboxAddress.Parse("user@test.example"));
            message.Subject = "after user add";
            message.Body = new TextPart("plain") { Text = "hello" };
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }

        var line = await mta.WaitForLogLineAsync("<= alice@client.test");
        Assert.Contains(" P=esmtpa L. A=plain:alice S=", line, StringComparison.Ordinal);

        var removed = await RunAsync(null, "user", "remove", "alice", "--users-file", file);
        Assert.Equal((0, $"user alice removed from {file}\n", ""), removed);
        Assert.Equal((2, "", $"actormta: no user alice in {file}\n"), await RunAsync(null, "user", "remove", "alice", "--users-file", file));
    }

    [Fact]
    public async Task RunRefusesToStartOnABadUsersFileNamingFileAndLine()
    {
        string file = Path.Combine(_folder, "users");
        File.WriteAllText(file, "# users\nalice:$pbkdf2-sha256$600000$c2FsdA==\n");

        var r = await RunAsync(null, "run", "--set", $"actormta.data-directory=\"{_folder}\"", "--set", "actormta.listen=[\"127.0.0.1:0\"]",
            "--set", "actormta.log.console=off", "--set", $"actormta.auth.users-file=\"{file}\"");

        Assert.Equal(1, r.Code);
        Assert.Equal($"actormta: {file}:2: user \"alice\": expected $pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>\n", r.Stderr);
    }
}
