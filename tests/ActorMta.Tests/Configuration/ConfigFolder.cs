namespace ActorMta.Tests.ConfigurationLoading;

/// <summary>A temporary folder for configuration files a test writes; deleted on dispose.</summary>
public sealed class ConfigFolder : IDisposable
{
    public ConfigFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actormta-config-" + Guid.NewGuid().ToString("N"));

    /// <summary>Writes <paramref name="text"/> to <paramref name="name"/> in the folder and returns its path.</summary>
    public string Write(string text, string name = "test.conf")
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
