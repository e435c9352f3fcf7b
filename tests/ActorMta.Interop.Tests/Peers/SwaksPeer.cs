using System.Net;
using ActorMta.Interop.Tests.Support;

namespace ActorMta.Interop.Tests.Peers;

/// <summary>swaks, the scriptable SMTP client, run once per message; its transcript is kept.</summary>
public static class SwaksPeer
{
    /// <summary>A finished swaks run: exit code and the transcript (<c>-&gt;</c> sent, <c>&lt;-</c> received).</summary>
    public sealed record Transcript(int ExitCode, IReadOnlyList<string> Lines, string Raw)
    {
        public int IndexOf(string prefix, int start = 0)
        {
            for (var i = start; i < Lines.Count; i++)
            {
                if (Lines[i].StartsWith(prefix, StringComparison.Ordinal)) return i;
            }
            return -1;
        }
    }

    public static async Task<Transcript> SendAsync(IPEndPoint server, string from, string to, string subject, string body,
        params string[] extraArgs)
    {
        var swaks = PeerBinaries.Require(PeerBinaries.Swaks);
        var result = await ProcessRunner.RunAsync(swaks,
        [
            "--server", server.Address.ToString(), "--port", server.Port.ToString(),
            "--from", from, "--to", to, "--ehlo", "swaks.test",
            "--header", $"Subject: {subject}", "--body", body,
            "--timeout", "20", .. extraArgs,
        ], timeout: TimeSpan.FromSeconds(60));
        var raw = result.StdOut + result.StdErr;
        var lines = raw.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        return new Transcript(result.ExitCode, lines, raw);
    }
}
