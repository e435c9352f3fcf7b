using System.Text.Json;
using ActorMta.Configuration;
using ActorMta.Logging;
using Xunit;

namespace ActorMta.Tests.HostProgram;

public sealed class LoggingSetupTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actormta-log-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void MainLogGetsOnlyMainLogLinesInEximLayoutWhileConsoleAndJsonGetEverything()
    {
        string mainLogPath = Path.Combine(_folder, "log", "mainlog");
        string jsonPath = Path.Combine(_folder, "json", "actormta.json");
        var console = new StringWriter();
        var before = DateTime.Now.AddSeconds(-1);

        using (var logger = LoggingSetup.CreateLogger(new LogSettings(mainLogPath, jsonPath, Console: true, LogPipelining: true), console: console))
        {
            new MainLog(logger).Write("1xXdwa-Un3fSo-uC <= a@example.com H=(client) [127.0.0.1]:4000 P=esmtp S=402 {not a template}");
            logger.Information("listening on {EndPoint}", "127.0.0.1:2525");
            logger.Debug("below the minimum level");
        }

        string[] mainLines = File.ReadAllLines(mainLogPath);
        string line = Assert.Single(mainLines);
        var stamp = DateTime.ParseExact(line[..19], "yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stamp, before, DateTime.Now.AddSeconds(1)); // local time, as Exim writes
        Assert.Equal(" 1xXdwa-Un3fSo-uC <= a@example.com H=(client) [127.0.0.1]:4000 P=esmtp S=402 {not a template}", line[19..]);

        string consoleText = console.ToString();
        Assert.Contains("1xXdwa-Un3fSo-uC <= a@example.com", consoleText, StringComparison.Ordinal);
        Assert.Contains("listening on 127.0.0.1:2525", consoleText, StringComparison.Ordinal);
        Assert.DoesNotContain("below the minimum level", consoleText, StringComparison.Ordinal);

        string[] json = File.ReadAllLines(jsonPath);
        Assert.Equal(2, json.Length);
        using var first = JsonDocument.Parse(json[0]);
        Assert.True(first.RootElement.GetProperty(MainLog.Property).GetBoolean());
        Assert.True(first.RootElement.TryGetProperty("@t", out _));
        using var second = JsonDocument.Parse(json[1]);
        Assert.Equal("127.0.0.1:2525", second.RootElement.GetProperty("EndPoint").GetString());
    }

    [Fact]
    public async Task LogFilesFollowRenameDeleteAndCopytruncateRotationWhileTheLoggerRuns()
    {
        string mainLogPath = Path.Combine(_folder, "log", "mainlog");
        string jsonPath = Path.Combine(_folder, "log", "actormta.json");
        using var logger = LoggingSetup.CreateLogger(new LogSettings(mainLogPath, jsonPath, Console: false, LogPipelining: true));
        var mainLog = new MainLog(logger);
        static string Last(string path) => File.ReadAllLines(path)[^1];
        // The sink looks at its path at most once a second.
        static Task NextCheckAsync() => Task.Delay(TimeSpan.FromMilliseconds(1100));

        mainLog.Write("one Completed");
        // Renamed, as logrotate (create mode) and exicyclog do: later lines go to a new file under the path.
        File.Move(mainLogPath, mainLogPath + ".1");
        File.Move(jsonPath, jsonPath + ".1");
        await NextCheckAsync();
        mainLog.Write("two Completed");
        Assert.EndsWith(" one Completed", Assert.Single(File.ReadAllLines(mainLogPath + ".1")), StringComparison.Ordinal);
        Assert.EndsWith(" two Completed", Assert.Single(File.ReadAllLines(mainLogPath)), StringComparison.Ordinal);
        Assert.Contains("one Completed", Assert.Single(File.ReadAllLines(jsonPath + ".1")), StringComparison.Ordinal);
        Assert.Contains("two Completed", Assert.Single(File.ReadAllLines(jsonPath)), StringComparison.Ordinal);

        // Deleted: made again.
        File.Delete(mainLogPath);
        await NextCheckAsync();
        mainLog.Write("three Completed");
        Assert.EndsWith(" three Completed", Assert.Single(File.ReadAllLines(mainLogPath)), StringComparison.Ordinal);

        // Copied and truncated in place (logrotate's copytruncate): the next line starts the file,
        // with no hole of zero bytes where the old lines were.
        mainLog.Write("four Completed");
        File.Copy(mainLogPath, mainLogPath + ".2");
        using (var truncate = new FileStream(mainLogPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) truncate.SetLength(0);
        mainLog.Write("five Completed");
        var bytes = File.ReadAllBytes(mainLogPath);
        Assert.DoesNotContain((byte)0, bytes);
        Assert.EndsWith(" five Completed", Assert.Single(File.ReadAllLines(mainLogPath)), StringComparison.Ordinal);
        Assert.EndsWith(" four Completed", Last(mainLogPath + ".2"));
    }

    [Fact]
    public void DisabledSinksWriteNothing()
    {
        var console = new StringWriter();
        using (var logger = LoggingSetup.CreateLogger(new LogSettings(null, null, Console: false, LogPipelining: false), console: console))
        {
            new MainLog(logger).Write("x <= y");
        }

        Assert.Equal("", console.ToString());
        Assert.False(Directory.Exists(_folder));
    }

    [Fact]
    public void LoggerFollowsTheLoadedSettings()
    {
        var settings = SettingsLoader.Load(null, [$"actormta.data-directory=\"{_folder}\"", "actormta.log.console=off"]).Settings;
        using (var logger = LoggingSetup.CreateLogger(settings.Log))
        {
            new MainLog(logger).Write("abc Completed");
        }

        Assert.EndsWith(" abc Completed", Assert.Single(File.ReadAllLines(Path.Combine(_folder, "log", "mainlog"))), StringComparison.Ordinal);
    }
}
