using System.Net;
using ActorMta.Auth;
using ActorMta.Smtp;

namespace ActorMta.Tests.Auth;

/// <summary>The password hash format, the users file, the SASL decoding and the failure counter, without sockets.</summary>
public sealed class UsersFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actormta-users-" + Guid.NewGuid().ToString("N")[..12]);

    public UsersFileTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void AHashVerifiesItsPasswordOnlyAndRoundTripsThroughItsText()
    {
        var hash = PasswordHash.Create("s3cret", AuthTestKit.FastIterations);
        string text = hash.ToString();
        Assert.Matches(@"^\$pbkdf2-sha256\$1000\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$", text);
        Assert.True(PasswordHash.TryParse(text, out var parsed, out _));
        Assert.True(parsed!.Verify("s3cret"));
        Assert.False(parsed.Verify("s3cret "));
        // Same password, new salt: a different line.
        Assert.NotEqual(text, PasswordHash.Create("s3cret", AuthTestKit.FastIterations).ToString());
        Assert.Equal(PasswordHash.DefaultIterations, 600_000);
    }

    [Fact]
    public void ABadLineIsReportedWithFileAndLine()
    {
        string file = Path.Combine(_folder, "users");
        File.WriteAllText(file, $"# users\n\nalice:{PasswordHash.Create("a", AuthTestKit.FastIterations)}\nbob:$md5$x\n");

        var error = Assert.Throws<UsersFileException>(() => UsersFile.Read(file));

        Assert.Equal($"{file}:4: user \"bob\": expected $pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>", error.Message);
        File.WriteAllText(file, "carol\n");
        Assert.Equal($"{file}:1: expected name:$pbkdf2-sha256$<iterations>$<salt>$<hash>", Assert.Throws<UsersFileException>(() => UsersFile.Read(file)).Message);
    }

    [Fact]
    public void SetAndRemoveKeepOtherLinesAndTheFileIsPrivate()
    {
        string file = Path.Combine(_folder, "users");
        File.WriteAllText(file, "# keep me\n");
        Assert.True(UsersFile.Set(file, "alice", PasswordHash.Create("one", AuthTestKit.FastIterations)));
        Assert.True(UsersFile.Set(file, "bob", PasswordHash.Create("two", AuthTestKit.FastIterations)));
        Assert.False(UsersFile.Set(file, "alice", PasswordHash.Create("three", AuthTestKit.FastIterations)));

        var users = UsersFile.Read(file);
        Assert.True(users["alice"].Verify("three"));
        Assert.True(users["bob"].Verify("two"));
        Assert.True(UsersFile.Remove(file, "bob"));
        Assert.False(UsersFile.Remove(file, "bob"));
        string[] lines = File.ReadAllLines(file);
        Assert.Equal("# keep me", lines[0]);
        Assert.StartsWith("alice:$pbkdf2-sha256$1000$", lines[1], StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public void SaslResponsesDecodeAsRfc4954Says()
    {
        Assert.Equal(SaslResponseKind.Cancel, SaslResponse.ParseLine("*").Kind);
        Assert.Equal(SaslResponseKind.Malformed, SaslResponse.ParseLine("a b").Kind);
        Assert.Equal(SaslResponseKind.Malformed, SaslResponse.ParseLine("abc").Kind);
        var empty = SaslResponse.ParseInitial("=");
        Assert.Equal(SaslResponseKind.Data, empty.Kind);
        Assert.Empty(empty.Data);

        Assert.True(SaslPlain.TryDecode(SaslResponse.ParseLine(AuthTestKit.Plain("alice", "pw")).Data, out string authz, out string user, out string password));
        Assert.Equal(("", "alice", "pw"), (authz, user, password));
        Assert.Equal(AuthTestKit.Plain("alice", "pw"), SaslPlain.Encode("alice", "pw"));
        Assert.False(SaslPlain.TryDecode("alice\0pw"u8, out _, out _, out _));
        Assert.False(SaslPlain.TryDecode("\0\0pw"u8, out _, out _, out _));
    }

    [Fact]
    public void TheFailureCounterBlocksAfterNWithinTheWindowAndStaysBounded()
    {
        var now = new DateTime(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);
        var limiter = new AuthFailureLimiter(maxFailures: 2, window: TimeSpan.FromMinutes(1), maxTracked: 3, now: () => now);
        var a = IPAddress.Parse("192.0.2.1");

        Assert.False(limiter.RecordFailure(a));
        Assert.False(limiter.IsBlocked(a));
        now += TimeSpan.FromSeconds(30);
        Assert.True(limiter.RecordFailure(a));
        Assert.True(limiter.IsBlocked(a));
        now += TimeSpan.FromSeconds(31); // the first failure left the window
        Assert.False(limiter.IsBlocked(a));

        for (int i = 2; i < 10; i++) limiter.RecordFailure(IPAddress.Parse($"192.0.2.{i}"));
        Assert.Equal(3, limiter.TrackedCount);
    }
}
