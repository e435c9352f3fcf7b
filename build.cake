// ActorMta build script. Needs the local tool once: `dotnet tool restore`.
//   dotnet cake                                   (Test: build and run the tests)
//   dotnet cake --target=Build --configuration=Release
//   dotnet cake --target=Bench --bench-args="inbound --messages 2000"
//   dotnet cake --target=Run --run-args="--config hocon/actormta.conf"
// No #addin or #tool: everything here is plain `dotnet`, so nothing else is downloaded.

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Debug");
var benchArgs = Argument("bench-args", "");
var runArgs = Argument("run-args", "");

const string Solution = "./ActorMta.sln";
const string HostProject = "./src/ActorMta.Host";
const string BenchProject = "./tests/ActorMta.Benchmarks";

void Dotnet(string arguments)
{
    Information("dotnet {0}", arguments);
    int exitCode = StartProcess("dotnet", new ProcessSettings { Arguments = arguments });
    if (exitCode != 0) throw new CakeException(exitCode, $"dotnet {arguments} failed with exit code {exitCode}");
}

Task("Restore")
    .Does(() => DotNetRestore(Solution));

Task("Build")
    .IsDependentOn("Restore")
    .Does(() => DotNetBuild(Solution, new DotNetBuildSettings { Configuration = configuration, NoRestore = true }));

Task("Test")
    .IsDependentOn("Build")
    .Does(() => DotNetTest(Solution, new DotNetTestSettings { Configuration = configuration, NoBuild = true, NoRestore = true }));

// BenchmarkDotNet wants Release and its own process; not part of Test.
Task("Bench")
    .Does(() => Dotnet($"run -c Release --project {BenchProject} -- {benchArgs}"));

// The MTA in the foreground on the embedded defaults (127.0.0.1:2525, data in ./data) unless
// --run-args says otherwise; stop it with Ctrl+C.
Task("Run")
    .Does(() => Dotnet($"run -c {configuration} --project {HostProject} -- run {runArgs}"));

RunTarget(target);
