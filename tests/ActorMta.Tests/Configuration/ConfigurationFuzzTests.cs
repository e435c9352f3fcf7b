using ActorMta.Configuration;
using Xunit;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary>
/// Every key of reference.conf, set to values of the wrong kind, in a file and with --set. A load
/// either takes the value or fails with <see cref="ConfigurationException"/>, whose errors name
/// where the value was written (the file and its line, or the --set) and the key; never another
/// exception, which <c>actormta run</c> and <c>config check</c> would print as a stack trace.
/// </summary>
public sealed class ConfigurationFuzzTests : IDisposable
{
    /// <summary>A value of each kind HOCON has, and the edges the settings' parsers see most.</summary>
    private static readonly string[] Values =
    [
        "\"\"", "-1", "0", "1", "99999999999999999999999", "1.5", "-0.5", "1e400", "[]", "[1, [2]]", "{ a = 1 }", "{}",
        "\"x y\"", "null", "yes", "\"1 fortnight\"", "\"5 s\"", "\"*\"", "[\"!\"]", "\"!*\"", "\"\\u0000\"", "\"é\"",
        "\"[::1]:99999\"", "\"/\"", "\"" + new string('a', 3000) + "\"",
    ];

    private readonly string _folder = Directory.CreateTempSubdirectory("actormta-config-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Every_key_given_a_value_of_the_wrong_kind_loads_or_fails_naming_the_file_line_and_key()
    {
        var keys = ConfigurationCompletenessTests.Leaves(SettingsLoader.ReferenceText()).Order(StringComparer.Ordinal).ToList();
        Assert.True(keys.Count > 100, $"only {keys.Count} keys found in reference.conf");
        var defects = new List<string>();
        int refused = 0;
        string file = Path.Combine(_folder, "fuzz.conf");
        int loads = 0;
        // Every value for every key, both ways: about 15 s here.
        foreach (string key in keys)
        {
            foreach (string value in Values)
            {
                File.WriteAllText(file, $"# fuzz\n{key} = {value}\n");
                refused += Check(defects, key, value, () => SettingsLoader.Load(file, []), $"{file}:2");
                refused += Check(defects, key, value, () => SettingsLoader.Load(null, [$"{key}={value}"]), "--set ");
                loads += 2;
            }
        }

        Assert.True(defects.Count == 0, $"{defects.Count} loads went wrong:\n" + string.Join("\n", defects.Take(40)));
        // Most of these values are wrong for most keys: a loader that took everything would pass
        // the loop above without checking anything.
        Assert.True(refused > loads / 2, $"only {refused} of {loads} loads refused");
    }

    /// <returns>1 if the load was refused, else 0.</returns>
    private static int Check(List<string> defects, string key, string value, Action load, string where)
    {
        string what = $"{key} = {(value.Length > 40 ? value[..40] + "..." : value)} ({(where.StartsWith("--set", StringComparison.Ordinal) ? "--set" : "file")})";
        try
        {
            load();
            return 0;
        }
        catch (ConfigurationException e)
        {
            if (e.Errors.Count == 0) defects.Add($"{what}: refused with no error");
            else if (!e.Errors.Any(x => x.Location.StartsWith(where, StringComparison.Ordinal)))
                defects.Add($"{what}: no error says where the value was written: {e.Message}");
            else if (!e.Errors.Any(x => x.Path is not null && Related(x.Path, key)))
                defects.Add($"{what}: no error names the key: {e.Message}");
            return 1;
        }
        catch (Exception e)
        {
            defects.Add($"{what}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            return 0;
        }
    }

    /// <summary>The key itself, a section holding it, or a key beside it in its section (a range
    /// checked against its other end, as min-ttl against max-ttl).</summary>
    private static bool Related(string path, string key)
    {
        if (path == key || key.StartsWith(path + ".", StringComparison.Ordinal)) return true;
        int dot = key.LastIndexOf('.');
        return path.StartsWith(key[..(dot + 1)], StringComparison.Ordinal);
    }
}
