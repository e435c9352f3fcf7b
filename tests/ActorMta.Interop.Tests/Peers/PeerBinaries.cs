namespace ActorMta.Interop.Tests.Peers;

/// <summary>
/// Where the third-party peers live on this machine, and whether a missing one may be skipped.
/// CI exports <c>ACTORMTA_REQUIRE_PEERS=1</c>: then a missing peer fails the test instead.
/// </summary>
public static class PeerBinaries
{
    public const string Exim = "exim";
    public const string Swaks = "swaks";

    private static readonly string[] SearchPath =
        [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries),
         "/usr/sbin", "/usr/bin", "/sbin"];

    /// <summary>True when CI (or a developer) asked for every peer to be present.</summary>
    public static bool Required =>
        Environment.GetEnvironmentVariable("ACTORMTA_REQUIRE_PEERS") is { Length: > 0 } v && v != "0";

    /// <summary>The absolute path of a peer's program, or null with the reason it cannot be used.</summary>
    public static string? Find(string peer, out string? whyNot)
    {
        string[] names = peer switch
        {
            Exim => ["exim", "exim4"],
            _ => [peer],
        };
        foreach (var name in names)
        {
            foreach (var dir in SearchPath)
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    // Exim accepts a private configuration (-C) and can chown its folders only for root.
                    if (peer == Exim && Environment.UserName != "root")
                    {
                        whyNot = "the Exim peer needs root (private -C configuration, folders owned by Debian-exim)";
                        return null;
                    }
                    whyNot = null;
                    return candidate;
                }
            }
        }
        whyNot = peer switch
        {
            Exim => "exim is not installed (apt-get install exim4-daemon-heavy; .ci/run does it)",
            Swaks => "swaks is not installed (apt-get install swaks; .ci/run does it)",
            _ => $"{peer} is not installed",
        };
        return null;
    }

    /// <summary>The peer's path; throws (so the test fails) when it is missing.</summary>
    public static string Require(string peer) =>
        Find(peer, out var whyNot) ?? throw new InvalidOperationException(
            $"peer '{peer}' unavailable: {whyNot}" + (Required ? " (ACTORMTA_REQUIRE_PEERS is set, so this fails)" : ""));
}
