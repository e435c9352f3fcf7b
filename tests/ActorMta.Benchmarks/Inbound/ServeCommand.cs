using System.Runtime.InteropServices;
using ActorMta.Configuration;
using ActorMta.Logging;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// <c>serve --set path=value ...</c>: runs one ActorMta node in this process until SIGTERM/SIGINT,
/// exactly as <c>actormta run</c> does (settings loader, Exim-format main log, <see cref="MtaNode"/>).
/// The benchmarks start ActorMta through this verb as a separate process: the actormta program
/// itself cannot load yet, because its assembly name differs from the engine's only in case.
/// </summary>
public static class ServeCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var sets = new List<string>();
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            if (args[i] != "--set") throw new ArgumentException($"serve: unexpected argument {args[i]}");
            sets.Add(args[i + 1]);
        }
        var loaded = SettingsLoader.Load(null, sets);
        await using var logger = LoggingSetup.CreateLogger(loaded.Settings.Log);
        LoggingSetup.UseForAkka(logger);

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });

        var node = await MtaNode.StartAsync(loaded.Settings, loaded.AkkaConfig, logger);
        Console.WriteLine($"serving on {string.Join(", ", node.BoundEndPoints)}");
        await stop.Task;
        await node.StopAsync();
        return 0;
    }
}
