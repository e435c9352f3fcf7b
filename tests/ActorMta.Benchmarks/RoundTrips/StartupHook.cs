using System.Net;
using ActorMta.Benchmarks.RoundTrips;

/// <summary>
/// The <c>roundtrips</c> verb without touching Program.cs (owned by the benchmark harness): the
/// script starts this assembly with <c>DOTNET_STARTUP_HOOKS</c> pointing at itself, so this runs
/// before Main; for the <c>roundtrips</c> verb it runs the benchmark and exits, for anything else
/// it returns and Main carries on.
/// Drop this class once Program.cs dispatches <c>roundtrips</c> to <see cref="RoundTripBenchmark"/>.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        var args = Environment.GetCommandLineArgs();
        if (args.Length < 2 || args[1] != "roundtrips") return;
        string? Option(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        var options = new RoundTripBenchmark.Options(
            ServerNamespace: Option("--server-ns") ?? "rtt-b",
            ServerAddress: IPAddress.Parse(Option("--server-ip") ?? "10.210.0.2"),
            Messages: int.Parse(Option("--messages") ?? "10"),
            NominalRttMs: double.Parse(Option("--rtt-ms") ?? "50", System.Globalization.CultureInfo.InvariantCulture),
            Exim: Option("--only") is null or "exim",
            ActorMta: Option("--only") is null or "actormta");
        int code;
        try
        {
            code = Task.Run(() => RoundTripBenchmark.RunAsync(options)).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            code = 1;
        }
        Console.Out.Flush();
        Environment.Exit(code);
    }
}
