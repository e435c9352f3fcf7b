using System.Diagnostics;

namespace ActorMta.Tests.Support;

/// <summary>
/// A small tmpfs mounted for one test: a real file system that fills up. Mounting needs root
/// (CI runs as root); see <see cref="TmpfsFactAttribute"/> for when such a test is skipped.
/// </summary>
public sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    public static Tmpfs Mount(int megabytes)
    {
        var path = Directory.CreateTempSubdirectory("actormta-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path);
        return new Tmpfs(path);
    }

    /// <summary>Free bytes on it now.</summary>
    public long Free => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Fills it with a file until <paramref name="leave"/> bytes are left; returns the file.</summary>
    public string Fill(long leave)
    {
        var filler = System.IO.Path.Combine(Path, "filler");
        using var file = new FileStream(filler, FileMode.Create, FileAccess.Write);
        var block = new byte[64 * 1024];
        while (Free - block.Length > leave) file.Write(block);
        // The rest to the byte (tmpfs counts whole pages): with leave = 0 not even a small log record fits.
        file.Write(new byte[Math.Max(0, Free - leave)]);
        file.Flush();
        return filler;
    }

    public void Dispose()
    {
        Run("umount", "-l", Path);
        Directory.Delete(Path);
    }

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)}: {error.Trim()}");
    }
}

/// <summary>
/// A test that mounts a <see cref="Tmpfs"/>: skipped with the reason when not root, unless
/// <c>ACTORMTA_REQUIRE_PEERS</c> is set (then it runs and fails). Root in a container that may not
/// mount (no CAP_SYS_ADMIN) is skipped with the kernel's answer, since no package can change that.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> CannotMount = new(() =>
    {
        try
        {
            Tmpfs.Mount(megabytes: 1).Dispose();
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            return $"this machine cannot mount a tmpfs: {e.Message}";
        }
    });

    public TmpfsFactAttribute()
    {
        bool required = Environment.GetEnvironmentVariable("ACTORMTA_REQUIRE_PEERS") is { Length: > 0 } v && v != "0";
        if (Environment.UserName != "root")
        {
            if (!required) Skip = "mounting a tmpfs needs root (CI runs as root; ACTORMTA_REQUIRE_PEERS makes this fail instead of skip)";
        }
        else if (CannotMount.Value is { } why)
        {
            Skip = why;
        }
    }
}
