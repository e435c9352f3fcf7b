using System.Text;
using ActorMta.Host;

namespace ActorMta.Tests.HostProgram;

/// <summary><c>actormta queue show</c>'s main-log lines, across a rotation of the log.</summary>
public sealed class MessageLogLinesTests : IDisposable
{
    private const string Id = "1xY4Dk-yUL75v-yH";
    private readonly string _folder = Directory.CreateTempSubdirectory("actormta-showlog-").FullName;
    private string MainLog => Path.Combine(_folder, "mainlog");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Lines(string? mainLog)
    {
        var sb = new StringBuilder();
        MessageReport.AppendLogLines(sb, mainLog, Id);
        return sb.ToString();
    }

    [Fact]
    public void Lines_from_before_a_rotation_come_first_then_the_current_file()
    {
        File.WriteAllText(MainLog + ".1", $"2026-11-30 16:00:00 {Id} <= a@example.com\n2026-11-30 16:00:00 other <= b@example.com\n");
        File.WriteAllText(MainLog, $"2026-11-30 16:20:00 {Id} == user@test.example defer\n");

        Assert.Equal($"2026-11-30 16:00:00 {Id} <= a@example.com\n2026-11-30 16:20:00 {Id} == user@test.example defer\n", Lines(MainLog));
    }

    [Fact]
    public void Right_after_a_rename_the_rotated_file_alone_is_read()
    {
        File.WriteAllText(MainLog + ".1", $"2026-11-30 16:00:00 {Id} <= a@example.com\n");
        Assert.Equal($"2026-11-30 16:00:00 {Id} <= a@example.com\n", Lines(MainLog));
    }

    [Fact]
    public void No_lines_names_the_files_read_and_a_missing_log_says_so()
    {
        File.WriteAllText(MainLog + ".1", "2026-11-30 16:00:00 other <= b@example.com\n");
        File.WriteAllText(MainLog, "");
        Assert.Equal($"  (no lines for {Id} in {MainLog}.1 or {MainLog})\n", Lines(MainLog));

        File.Delete(MainLog + ".1");
        File.Delete(MainLog);
        Assert.StartsWith($"  (cannot read {MainLog}: ", Lines(MainLog));
        Assert.Equal("  (the main log is off: actormta.log.main-log)\n", Lines(null));
    }
}
