using System.Diagnostics;
using System.Net;
using System.Text;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// ActorMta as its own process: the real <c>actormta run</c>, from the Host project's output
/// folder of the same build configuration as this program (Release), with a durable spool
/// (fsync before 250) and maildir delivery.
/// Console logging is off (Exim does not log to a console either); the main log is written.
/// </summary>
public sealed class ActorMtaServer : IBenchServer
{
    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly string _dir;

    private ActorMtaServer(Process process, StringBuilder output, string dir, IPEndPoint endPoint, bool queueOnly)
    {
        Delivers = !queueOnly;
        _process = process;
        _output = output;
        _dir = dir;
        EndPoint = endPoint;
    }

    public string Name => Delivers ? "ActorMta" : "ActorMta queue-only";

    /// <summary>False with <c>actormta.queue.queue-only=on</c>: like Exim's queue_only, nothing is
    /// delivered during the load (the queue run interval is left at its default, minutes away).</summary>
    public bool Delivers { get; }

    public IPEndPoint EndPoint { get; }

    public int ProcessId => _process.Id;

    public int DeliveredCount() => Maildir.CountNew(Path.Combine(_dir, "maildir"));

    public static async Task<ActorMtaServer> StartAsync(params string[] extraSets)
    {
        var program = FindProgram();
        var dir = Directory.CreateTempSubdirectory("actormta-bench-").FullName;
        var port = SmtpProbe.FreeLoopbackPort();
        string[] sets =
        [
            $"actormta.listen=[\"127.0.0.1:{port}\"]",
            $"actormta.data-directory=\"{dir}\"",
            $"actormta.policy.local-domains=[\"{IBenchServer.Domain}\"]",
            "actormta.spool.fsync=on",
            "actormta.log.console=off",
            "actormta.smtp.max-connections-per-ip=1000",
            "actormta.smtp.max-messages-per-connection=1000000",
            .. extraSets,
        ];
        var output = new StringBuilder();
        var dotnet = Environment.ProcessPath is { } host && Path.GetFileName(host) == "dotnet" ? host : "dotnet";
        var process = Proc.Start(dotnet, [program, "run", .. sets.SelectMany(s => new[] { "--set", s })], output);
        var server = new ActorMtaServer(process, output, dir, new IPEndPoint(IPAddress.Loopback, port),
            queueOnly: extraSets.Contains("actormta.queue.queue-only=on"));
        try
        {
            await SmtpProbe.WaitForBannerAsync(server.EndPoint, TimeSpan.FromSeconds(60), () => process.HasExited,
                () => output.ToString());
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>
    /// actormta.dll in the Host project's own output folder (artifacts layout:
    /// bin/ActorMta.Host/&lt;config&gt;; classic: src/ActorMta.Host/bin/&lt;Config&gt;/&lt;tfm&gt;), where
    /// its deps.json matches the assemblies beside it (the copy next to this program does not).
    /// </summary>
    private static string FindProgram()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var candidates = new List<string>();
        if (here.Parent?.Parent is { } bin)
        {
            candidates.Add(Path.Combine(bin.FullName, "ActorMta.Host", here.Name, "actormta.dll"));
        }
        if (here.Parent?.Parent?.Parent?.Parent?.Parent is { } repo)
        {
            candidates.Add(Path.Combine(repo.FullName, "src", "ActorMta.Host", "bin", here.Parent!.Name, here.Name, "actormta.dll"));
        }
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("actormta.dll not found; looked at:\n" + string.Join("\n", candidates));
    }

    public async ValueTask DisposeAsync()
    {
        await Proc.StopAsync(_process, TimeSpan.FromSeconds(10));
        _process.Dispose();
        DeferredCleanup.Add(_dir); // not now: see DeferredCleanup
    }
}
