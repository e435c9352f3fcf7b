using System.Text;
using ActorMta.Host;

namespace ActorMta.Tests.HostProgram;

/// <summary><c>actormta queue show</c>'s main-log lines, across rotations of the log.</summary>
public sealed class MessageLogLinesTests : IDisposable
{
    private const string Id = "1xY4Dk-yUL75v-yH";
    private readonly string _folder = Directory.CreateTempSubdirectory("actormta-showlog-").FullName;
    private string MainLog => Path.Combine(_folder, "mainlog");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>When the message came, in the main log's local time.</summary>
    private static readonly DateTimeOffset Arrival = new(new DateTime(2026, 11, 30, 15, 30, 0, DateTimeKind.Local));

    private static string Lines(string? mainLog)
    {
        var sb = new StringBuilder();
        MessageReport.AppendLogLines(sb, mainLog, Id, Arrival);
        return sb.ToString();
    }

    private void WriteGzip(string name, string text)
    {
        using var file = File.Create(Path.Combine(_folder, name));
        using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest);
        gzip.Write(Encoding.UTF8.GetBytes(text));
    }

    [Fact]
    public void Compressed_rotations_are_read_back_to_the_one_that_began_before_the_message_and_no_further()
    {
        // Rotated four times during its life (logrotate with compress and delaycompress).
        File.WriteAllBytes(MainLog + ".5.gz", [1, 2, 3]); // older still, and not even gzip: never opened
        WriteGzip("mainlog.4.gz", $"2026-11-30 14:00:00 other <= b@example.com\n");
        WriteGzip("mainlog.3.gz", $"2026-11-30 15:00:00 other <= b@example.com\n2026-11-30 15:30:00 {Id} <= a@example.com\n");
        WriteGzip("mainlog.2.gz", $"2026-11-30 16:00:00 {Id} == user@test.example defer (1)\n");
        File.WriteAllText(MainLog + ".1", $"2026-11-30 17:00:00 {Id} == user@test.example defer (2)\n");
        File.WriteAllText(MainLog, $"2026-11-30 18:00:00 {Id} => user@test.example\n");

        Assert.Equal(
            $"2026-11-30 15:30:00 {Id} <= a@example.com\n2026-11-30 16:00:00 {Id} == user@test.example defer (1)\n"
            + $"2026-11-30 17:00:00 {Id} == user@test.example defer (2)\n2026-11-30 18:00:00 {Id} => user@test.example\n",
            Lines(MainLog));
    }

    [Fact]
    public void Exicyclog_names_with_two_digits_are_read_too()
    {
        WriteGzip("mainlog.02.gz", $"2026-11-30 15:30:00 {Id} <= a@example.com\n");
        File.WriteAllText(MainLog + ".01", $"2026-11-30 17:00:00 {Id} == user@test.example defer\n");
        File.WriteAllText(MainLog, "");

        Assert.Equal($"2026-11-30 15:30:00 {Id} <= a@example.com\n2026-11-30 17:00:00 {Id} == user@test.example defer\n", Lines(MainLog));
    }

    [Fact]
    public void Dateext_rotations_are_read_newest_first_back_to_the_one_that_began_before_the_message()
    {
        File.WriteAllBytes(MainLog + "-20261128.gz", [1, 2, 3]); // older, not even gzip: never opened
        WriteGzip("mainlog-20261129.gz", $"2026-11-30 15:00:00 other <= b@example.com\n2026-11-30 15:30:00 {Id} <= a@example.com\n");
        File.WriteAllText(MainLog + "-20261130", $"2026-11-30 16:00:00 {Id} == user@test.example defer\n");
        File.WriteAllText(MainLog + "-other", "2026-11-30 16:00:00 not a rotation of ours\n");
        File.WriteAllText(MainLog, $"2026-11-30 18:00:00 {Id} => user@test.example\n");

        Assert.Equal(
            $"2026-11-30 15:30:00 {Id} <= a@example.com\n2026-11-30 16:00:00 {Id} == user@test.example defer\n2026-11-30 18:00:00 {Id} => user@test.example\n",
            Lines(MainLog));
    }

    [Fact]
    public void A_damaged_compressed_rotation_is_named_in_the_answer()
    {
        File.WriteAllBytes(MainLog + ".2.gz", [1, 2, 3]);
        File.WriteAllText(MainLog + ".1", $"2026-11-30 17:00:00 {Id} == user@test.example defer\n");

        Assert.StartsWith($"  (cannot read {MainLog}.2.gz: ", Lines(MainLog));
    }

    [Fact]
    public void Lines_from_before_a_rotation_come_first_then_the_current_file()
    {
        File.WriteAllText(MainLog + ".1", $"2026-11-30 15:00:00 {Id} <= a@example.com\n2026-11-30 16:00:00 other <= b@example.com\n");
        File.WriteAllText(MainLog, $"2026-11-30 16:20:00 {Id} == user@test.example defer\n");

        Assert.Equal($"2026-11-30 15:00:00 {Id} <= a@example.com\n2026-11-30 16:20:00 {Id} == user@test.example defer\n", Lines(MainLog));
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
