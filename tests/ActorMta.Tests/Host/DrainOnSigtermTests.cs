using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using ActorMta.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace ActorMta.Tests.HostProgram;

/// <summary>
/// The real program, stopped by SIGTERM while a client is in the middle of a message: the client
/// finishes it and gets its 250, then 421, on a single node and on a cluster node (where Akka's own
/// SIGTERM hook, left on, would leave the cluster and end the sessions before the drain).
/// </summary>
public sealed class DrainOnSigtermTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("actormta-drain-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_single_node_lets_the_message_finish() =>
        await DrainAsync("--set", "actormta.listen=[\"127.0.0.1:0\"]");

    [Fact]
    public async Task A_cluster_node_lets_the_message_finish_before_it_leaves()
    {
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        int port = FreePorts.Tcp();
        await DrainAsync("--set", "actormta.listen=[\"127.0.0.1:0\"]",
            "--set", $"actormta.persistence.connection-string=\"{postgres.ConnectionString}\"",
            "--set", "actormta.persistence.provider-name=PostgreSQL.15",
            "--set", "actormta.cluster.enabled=on",
            "--set", "actormta.cluster.hostname=127.0.0.1",
            "--set", $"actormta.cluster.port={port}",
            "--set", $"actormta.cluster.seed-nodes=[\"127.0.0.1:{port}\"]");
    }

    private async Task DrainAsync(params string[] sets)
    {
        using var process = Process.Start(ProgramTests.StartInfo(_folder, ["run", .. sets]))!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            int smtpPort = 0;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    if (Regex.Match(line, @"listening on \[""127\.0\.0\.1:(\d+)""\]") is { Success: true } m)
                    {
                        smtpPort = int.Parse(m.Groups[1].Value);
                        break;
                    }
                }
            }
            Assert.NotEqual(0, smtpPort);
            Task<string> rest = process.StandardOutput.ReadToEndAsync();

            using var client = await RawSmtpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, smtpPort));
            await client.ReadRepliesAsync(1);
            await client.SendAsync("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<user@localhost>\r\nDATA\r\n");
            await client.ReadRepliesAsync(4);
            await client.SendAsync("Subject: in flight\r\n\r\nhalf a messa");
            await Task.Delay(200);
            Assert.Equal(0, ProgramTests.Kill(process.Id, 15)); // SIGTERM
            // Long enough for anything that would end the session on SIGTERM to have done so.
            await Task.Delay(2000);
            await client.SendAsync("ge\r\n.\r\n");

            Assert.Matches(@"^250 2\.0\.0 OK id=\S+\r\n421 4\.3\.2 \S+ Service shutting down - closing connection\r\n$", await client.ReadRepliesAsync(2, TimeSpan.FromSeconds(20)));
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(exit.Token);
            Assert.Equal(0, process.ExitCode);
            output.WriteLine(await rest);
            Assert.DoesNotContain("Exception", await stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }


}
