using System.Text;

namespace ActorMta.Auth;

/// <summary>A users-file problem, named the way configuration errors are: <c>FILE:LINE: why</c>.</summary>
public sealed class UsersFileException(string file, int line, string reason)
    : Exception(line > 0 ? $"{file}:{line}: {reason}" : $"{file}: {reason}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string Reason { get; } = reason;
}

/// <summary>
/// The users file (<c>actormta.auth.users-file</c>): one <c>name:hash</c> line per user, where the
/// hash is a <see cref="PasswordHash"/>; blank lines and lines starting with <c>#</c> are ignored.
/// Names are matched exactly (case-sensitive), as in htpasswd files. Reading refuses the whole
/// file on the first bad line so that a typo never silently locks a user out or lets one in.
/// </summary>
public static class UsersFile
{
    /// <summary>Reads and checks the file. A missing file is no users; a bad line throws <see cref="UsersFileException"/>.</summary>
    public static IReadOnlyDictionary<string, PasswordHash> Read(string path)
    {
        string[] lines;
        try
        {
            if (!System.IO.File.Exists(path)) return new Dictionary<string, PasswordHash>(StringComparer.Ordinal);
            lines = System.IO.File.ReadAllLines(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsersFileException(path, 0, $"cannot read: {e.Message}");
        }

        var users = new Dictionary<string, PasswordHash>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) throw new UsersFileException(path, i + 1, "expected name:$" + PasswordHash.Scheme + "$<iterations>$<salt>$<hash>");
            string name = line[..colon];
            if (CheckName(name) is { } bad) throw new UsersFileException(path, i + 1, bad);
            if (!PasswordHash.TryParse(line[(colon + 1)..], out var hash, out string error))
            {
                throw new UsersFileException(path, i + 1, $"user \"{name}\": {error}");
            }

            if (!users.TryAdd(name, hash!)) throw new UsersFileException(path, i + 1, $"user \"{name}\" is listed twice");
        }

        return users;
    }

    /// <summary>Null when <paramref name="name"/> can be a user name, else why not.</summary>
    public static string? CheckName(string name)
    {
        if (name.Length == 0) return "empty user name";
        if (name.Length > 255) return "user name longer than 255 characters";
        if (name.Any(c => c == ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return $"user name \"{name}\" contains ':', white space or a control character";
        }

        return null;
    }

    /// <summary>Adds <paramref name="name"/> or replaces its hash; other lines, comments included, stay as they were.</summary>
    /// <returns>True when the user was new.</returns>
    public static bool Set(string path, string name, PasswordHash hash)
    {
        Read(path); // refuse to rewrite a file we could not read back
        var lines = ExistingLines(path);
        string entry = $"{name}:{hash}";
        int index = lines.FindIndex(l => NameOf(l) == name);
        if (index >= 0) lines[index] = entry;
        else lines.Add(entry);
        WriteAtomically(path, lines);
        return index < 0;
    }

    /// <summary>Removes <paramref name="name"/>; false when it was not there.</summary>
    public static bool Remove(string path, string name)
    {
        Read(path);
        var lines = ExistingLines(path);
        int removed = lines.RemoveAll(l => NameOf(l) == name);
        if (removed == 0) return false;
        WriteAtomically(path, lines);
        return true;
    }

    private static string? NameOf(string line)
    {
        if (line.TrimStart().StartsWith('#')) return null;
        int colon = line.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? null : line[..colon];
    }

    private static List<string> ExistingLines(string path) =>
        System.IO.File.Exists(path) ? [.. System.IO.File.ReadAllLines(path, Encoding.UTF8)] : [];

    /// <summary>
    /// Write a sibling file readable by the owner only, flush it to disk, then rename it over the
    /// old one: a running server reloading at any moment sees the old file or the new one, never half.
    /// </summary>
    private static void WriteAtomically(string path, List<string> lines)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, options))
        {
            byte[] text = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
            stream.Write(text);
            stream.Flush(flushToDisk: true);
        }

        System.IO.File.Move(temporary, full, overwrite: true);
    }
}
