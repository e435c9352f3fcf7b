using System.Net;
using ActorMta.Interop.Tests.Support;

namespace ActorMta.Interop.Tests.Targets;

/// <summary>
/// The real <c>actormta</c> program (from this test project's output folder) as a child process
/// on a loopback port, with its own data directory: main log in <c>log/mainlog</c>, maildirs in
/// <c>maildir/&lt;local-part&gt;/new</c>.
/// </summary>
public sealed class ActorMtaTarget : ISmtpTarget
{
    private readonly BackgroundProcess _process;

    private ActorMtaTarget(TempDir dir, IPEndPoint endPoint, BackgroundProcess process)
    {
        Dir = dir;
        EndPoint = endPoint;
        _process = process;
    }

    public string Name => "ActorMta";

    public TempDir Dir { get; }

    public IPEndPoint EndPoint { get; }

    public string MainLogPath => Dir.Combine("log", "mainlog");

    public string Output => _process.Output;

    public IReadOnlyList<string> MainLogLines() => SmtpTargetExtensions.ReadLog(MainLogPath);

    public IReadOnlyList<string> DeliveredFiles(string localPart) =>
        SmtpTargetExtensions.MaildirNew(Dir.Combine("maildir"), localPart);

    /// <summary>Starts ActorMta with <paramref name="localDomains"/> and extra <c>--set path=value</c> items.</summary>
    public static async Task<ActorMtaTarget> StartAsync(IReadOnlyList<string> localDomains, params string[] sets)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "actormta.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("actormta.dll is not in the test output folder", dll);

        var dir = new TempDir("actormta-interop-");
        var port = Support.Net.FreeLoopbackPort();
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var domains = string.Join(", ", localDomains.Select(d => $"\"{d}\""));
        string[] args =
        [
            dll, "run",
            "--set", $"actormta.listen=[\"127.0.0.1:{port}\"]",
            "--set", $"actormta.data-directory=\"{dir.Path}\"",
            "--set", $"actormta.policy.local-domains=[{domains}]",
            .. sets.SelectMany(s => new[] { "--set", s }),
        ];
        var process = ProcessRunner.Start(DotnetHost(), args);
        var target = new ActorMtaTarget(dir, endPoint, process);
        try
        {
            await Support.Net.WaitForBannerAsync(endPoint, TimeSpan.FromSeconds(30), () => process.HasExited);
            return target;
        }
        catch (TimeoutException e)
        {
            var output = process.Output;
            await target.DisposeAsync();
            throw new InvalidOperationException($"actormta did not come up on {endPoint}:\n{output}", e);
        }
    }

    /// <summary>The dotnet host running the tests (so the same runtime starts actormta).</summary>
    public static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Asks for a clean stop (SIGTERM), then kills what is left after a few seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await ProcessRunner.RunAsync("kill", ["-TERM", _process.Process.Id.ToString()]);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.Process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        _process.Dispose();
        Dir.Dispose();
    }
}
