using System.Text;
using ActorMta.Spool;

namespace ActorMta.Tests.Spool;

/// <summary>The one-shot file write every accepted message takes (open O_EXCL, pwritev, close).</summary>
public sealed class NewFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actormta-newfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_parts_land_in_order_even_when_there_are_more_than_one_pwritev_takes()
    {
        // 40 parts: three gathers of at most 16, some of them empty.
        var parts = Enumerable.Range(0, 40)
            .Select(i => (ReadOnlyMemory<byte>)Encoding.ASCII.GetBytes(i % 7 == 0 ? "" : $"part {i};"))
            .ToList();
        var path = Path.Combine(_dir, "many");

        NewFile.Write(path, parts, fsync: true);

        var expected = string.Concat(Enumerable.Range(0, 40).Select(i => i % 7 == 0 ? "" : $"part {i};"));
        Assert.Equal(expected, File.ReadAllText(path));
    }

    [Fact]
    public void A_taken_name_is_reported_as_such_and_the_existing_file_is_left_alone()
    {
        var path = Path.Combine(_dir, "taken");
        File.WriteAllText(path, "the first message");

        var error = Assert.ThrowsAny<IOException>(() => NewFile.Write(path, [Encoding.ASCII.GetBytes("a second one")], fsync: false));

        Assert.True(NewFile.AlreadyExisted(error));
        Assert.Contains(path, error.Message);
        Assert.Equal("the first message", File.ReadAllText(path));
    }

    [Fact]
    public void Any_other_failure_names_the_path_and_is_not_mistaken_for_a_taken_name()
    {
        var path = Path.Combine(_dir, "no-such-directory", "file");

        var error = Assert.ThrowsAny<IOException>(() => NewFile.Write(path, [Encoding.ASCII.GetBytes("x")], fsync: false));

        Assert.False(NewFile.AlreadyExisted(error));
        Assert.Contains(path, error.Message);
        Assert.False(File.Exists(path));
    }
}
