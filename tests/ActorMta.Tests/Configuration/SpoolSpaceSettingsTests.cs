using ActorMta.Configuration;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary><c>actormta.spool.min-free-space</c>: a size, 0 for off, anything else refused with its file, line and key.</summary>
public sealed class SpoolSpaceSettingsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actormta-config-" + Guid.NewGuid().ToString("N"));

    public SpoolSpaceSettingsTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(null, 64L * 1024 * 1024)]
    [InlineData("0", 0L)]
    [InlineData("1G", 1024L * 1024 * 1024)]
    [InlineData("500000", 500_000L)]
    public void Loaded(string? value, long expected)
    {
        string[] sets = value is null ? [] : [$"actormta.spool.min-free-space={value}"];
        Assert.Equal(expected, SettingsLoader.Load(null, sets).Settings.Spool.MinFreeSpace);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("lots")]
    [InlineData("5Q")]
    public void BadValueNamesFileLineAndKey(string value)
    {
        string file = Path.Combine(_folder, "test.conf");
        File.WriteAllText(file, $"actormta {{\n  spool {{\n    min-free-space = {value}\n  }}\n}}\n");

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:3", error.Location);
        Assert.Equal("actormta.spool.min-free-space", error.Path);
        Assert.Contains($"expected a size such as 64M or 64MiB, or 0 for off, got \"{value}\"", error.Message, StringComparison.Ordinal);
    }
}
