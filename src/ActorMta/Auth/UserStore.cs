namespace ActorMta.Auth;

/// <summary>
/// The users that may authenticate, read from the users file and re-read when the file changes
/// (its size or modification time, checked on each attempt: a <c>stat</c> is cheap next to a
/// password hash) or when <see cref="Reload"/> is called (SIGHUP). A file that no longer reads
/// keeps the previous users in force and reports the problem once per change.
/// Safe to use from any thread; verification is slow on purpose, so call it off the actor.
/// </summary>
public sealed class UserStore
{
    private readonly object _gate = new();
    private readonly Action<string> _report;
    private IReadOnlyDictionary<string, PasswordHash> _users;
    private (bool Exists, DateTime Written, long Length) _stamp;
    private PasswordHash? _decoy;

    /// <param name="path">The users file.</param>
    /// <param name="report">Receives one line per reload outcome (loaded, or the FILE:LINE error).</param>
    private UserStore(string path, Action<string> report)
    {
        Path = path;
        _report = report;
        _stamp = Stamp(path);
        _users = UsersFile.Read(path);
    }

    public string Path { get; }

    public int Count => _users.Count;

    /// <summary>Reads the file now; a bad line throws <see cref="UsersFileException"/> (start-up refuses to run on it).</summary>
    public static UserStore Open(string path, Action<string> report) => new(path, report);

    /// <summary>
    /// True when <paramref name="user"/> exists and <paramref name="password"/> is its password.
    /// An unknown user costs the same hash computation as a known one, so timing does not reveal
    /// which names exist.
    /// </summary>
    public bool Verify(string user, string password)
    {
        ReloadIfChanged();
        var users = _users;
        if (users.TryGetValue(user, out var hash)) return hash.Verify(password);
        Decoy(users).Verify(password);
        return false;
    }

    /// <summary>Re-reads the file whatever its stamp says (SIGHUP).</summary>
    public void Reload()
    {
        lock (_gate)
        {
            _stamp = Stamp(Path);
            Load();
        }
    }

    private void ReloadIfChanged()
    {
        var stamp = Stamp(Path);
        if (stamp == _stamp) return;
        lock (_gate)
        {
            if (stamp == _stamp) return;
            _stamp = stamp;
            Load();
        }
    }

    private void Load()
    {
        try
        {
            _users = UsersFile.Read(Path);
            _decoy = null;
            _report($"users file {Path} loaded: {_users.Count} user{(_users.Count == 1 ? "" : "s")}");
        }
        catch (UsersFileException e)
        {
            _report($"users file not reloaded, the previous users stay in force: {e.Message}");
        }
    }

    private PasswordHash Decoy(IReadOnlyDictionary<string, PasswordHash> users)
    {
        var decoy = _decoy;
        if (decoy is not null) return decoy;
        int iterations = users.Count > 0 ? users.Values.Max(h => h.Iterations) : PasswordHash.MinimumIterations;
        decoy = PasswordHash.Create(Guid.NewGuid().ToString("N"), Math.Max(iterations, PasswordHash.MinimumIterations));
        _decoy = decoy;
        return decoy;
    }

    private static (bool, DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (true, info.LastWriteTimeUtc, info.Length) : (false, default, 0);
    }
}
