using System.Net;
using ActorMta.Configuration;
using ActorMta.Interop.Tests.Support;
using ActorMta.Logging;

namespace ActorMta.Interop.Tests.Targets;

/// <summary>
/// A real ActorMta node in the test process (<see cref="MtaNode.StartAsync"/>), configured the way
/// the <c>actormta run</c> program is (<see cref="SettingsLoader"/> with <c>--set</c> items), on a
/// loopback port with its own data directory: main log in <c>log/mainlog</c>, maildirs in
/// <c>maildir/&lt;local-part&gt;/new</c>.
/// </summary>
public sealed class ActorMtaTarget : ISmtpTarget
{
    private readonly MtaNode _node;
    private readonly Serilog.Core.Logger _logger;

    private ActorMtaTarget(TempDir dir, MtaNode node, Serilog.Core.Logger logger, MtaSettings settings)
    {
        Dir = dir;
        _node = node;
        _logger = logger;
        MainLogPath = settings.Log.MainLogPath ?? Dir.Combine("log", "mainlog");
        MaildirRoot = settings.LocalDelivery.MaildirRoot;
    }

    public string Name => "ActorMta";

    public TempDir Dir { get; }

    public IPEndPoint EndPoint => _node.BoundEndPoints[0];

    /// <summary>Every listener's bound endpoint, in the order of the settings (listen, listen-submission, listen-tls-on-connect).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints => _node.BoundEndPoints;

    public string MainLogPath { get; }

    public string MaildirRoot { get; }

    /// <summary>Where /metrics is served, when the node was started with metrics on.</summary>
    public IPEndPoint? MetricsEndPoint => _node.MetricsEndPoint;

    public IReadOnlyList<string> MainLogLines() => SmtpTargetExtensions.ReadLog(MainLogPath);

    public IReadOnlyList<string> DeliveredFiles(string localPart) => SmtpTargetExtensions.MaildirNew(MaildirRoot, localPart);

    /// <summary>Starts a node accepting for <paramref name="localDomains"/>, plus extra <c>path=value</c> settings.</summary>
    public static async Task<ActorMtaTarget> StartAsync(IReadOnlyList<string> localDomains, params string[] sets)
    {
        var dir = new TempDir("actormta-interop-");
        var domains = string.Join(", ", localDomains.Select(d => $"\"{d}\""));
        var loaded = SettingsLoader.Load(null,
        [
            "actormta.listen=[\"127.0.0.1:0\"]",
            $"actormta.data-directory=\"{dir.Path}\"",
            $"actormta.policy.local-domains=[{domains}]",
            "actormta.log.console=off",
            "actormta.log.pipelining=on",
            .. sets,
        ]);
        var logger = LoggingSetup.CreateLogger(loaded.Settings.Log);
        try
        {
            var node = await MtaNode.StartAsync(loaded.Settings, loaded.AkkaConfig, logger);
            return new ActorMtaTarget(dir, node, logger, loaded.Settings);
        }
        catch
        {
            await logger.DisposeAsync();
            dir.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _node.StopAsync();
        await _logger.DisposeAsync();
        Dir.Dispose();
    }
}
