using System.Buffers;
using System.Runtime.InteropServices;
using static ActorMta.Unix.Libc;

namespace ActorMta.Spool;

/// <summary>
/// Creates a file that must not exist yet and writes it in one go: open(2) with <c>O_EXCL</c>, one
/// pwritev(2), fsync(2) when asked, close(2). A message stored without the spool log (the log off,
/// or a message too large for it) takes this path once, and so does a maildir file in <c>tmp/</c>
/// (with <c>replace</c>: a file left there by a crashed attempt is truncated, not an error). When
/// it throws, no file it created remains: either the name was taken (<see cref="AlreadyExisted"/>,
/// and the existing file is untouched) or the new file is unlinked again.
/// </summary>
/// <remarks>
/// .NET's own <c>File.OpenHandle</c> would add an flock(2) for its FileShare emulation, an lseek(2)
/// to learn whether the file can seek, and another flock(2) before the close: three system calls
/// out of six, for locks nobody else takes on a spool file (strace counted them, one of each per
/// message). Elsewhere than Linux the portable FileStream path is kept.
/// </remarks>
internal static class NewFile
{
    /// <summary>Parts beyond this many are gathered in more than one pwritev(2) call.</summary>
    private const int MaxVectors = 16;

    /// <summary>The pins of one call, kept per thread so that a store allocates nothing here.</summary>
    [ThreadStatic] private static MemoryHandle[]? t_pins;

    /// <param name="replace">Truncate a file already under <paramref name="path"/> instead of
    /// failing; on a failure the path is then unlinked whatever was there.</param>
    /// <param name="spilled">Data received into a spill file, copied in between
    /// <c>parts[spilledAt - 1]</c> and <c>parts[spilledAt]</c>.</param>
    public static void Write(string path, IReadOnlyList<ReadOnlyMemory<byte>> parts, bool fsync, bool replace = false,
        IncomingData? spilled = null, int spilledAt = 0)
    {
        if (!OperatingSystem.IsLinux())
        {
            WritePortable(path, parts, fsync, replace, spilled, spilledAt);
            return;
        }

        // 0666 as .NET creates files: the process's umask decides the final mode.
        int fd = open(path, O_WRONLY | O_CREAT | (replace ? O_TRUNC : O_EXCL) | O_CLOEXEC, 0x1B6);
        if (fd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot create {path}: {Describe(error)}", error);
        }
        try
        {
            if (spilled is null)
            {
                WriteAll(fd, path, parts, 0, parts.Count, 0);
            }
            else
            {
                long offset = WriteAll(fd, path, parts, 0, spilledAt, 0);
                spilled.CopySpilled(piece => offset = WriteAll(fd, path, [piece], 0, 1, offset));
                WriteAll(fd, path, parts, spilledAt, parts.Count, offset);
            }
            if (fsync) FileSync.File(fd, path);
        }
        catch
        {
            _ = close(fd);
            _ = unlink(path);
            throw;
        }
        // A delayed write error (NFS, a full quota) can surface at close: the file is then not stored.
        if (close(fd) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            _ = unlink(path);
            throw new IOException($"close of {path} failed: {Describe(error)}", error);
        }
    }

    /// <summary>True when <paramref name="error"/> from <see cref="Write"/> says the name was already taken.</summary>
    public static bool AlreadyExisted(Exception error) => error is IOException { HResult: EEXIST };

    /// <summary>Writes <c>parts[from..to)</c> at <paramref name="offset"/>; returns the offset after them.</summary>
    private static unsafe long WriteAll(int fd, string path, IReadOnlyList<ReadOnlyMemory<byte>> parts, int from, int to, long offset)
    {
        var vectors = stackalloc IoVector[MaxVectors];
        var pins = t_pins ??= new MemoryHandle[MaxVectors];
        for (int first = from; first < to; first += MaxVectors)
        {
            int count = Math.Min(MaxVectors, to - first);
            long wanted = 0;
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var part = parts[first + i];
                    pins[i] = part.Pin();
                    vectors[i] = new IoVector { Base = pins[i].Pointer, Length = part.Length };
                    wanted += part.Length;
                }
                // A regular file takes the whole write unless the disk is full; a short write
                // (signal, quota) continues where it stopped rather than failing.
                int next = 0;
                while (wanted > 0)
                {
                    long written = pwritev(fd, vectors + next, count - next, offset);
                    if (written < 0)
                    {
                        var error = Marshal.GetLastPInvokeError();
                        if (error == EINTR) continue;
                        throw new IOException($"cannot write {path}: {Describe(error)}", error);
                    }
                    if (written == 0) throw new IOException($"cannot write {path}: no progress");
                    offset += written;
                    wanted -= written;
                    while (next < count && written >= (long)vectors[next].Length)
                    {
                        written -= (long)vectors[next].Length;
                        next++;
                    }
                    if (next < count && written > 0)
                    {
                        vectors[next].Base = (byte*)vectors[next].Base + written;
                        vectors[next].Length -= (nint)written;
                    }
                }
            }
            finally
            {
                for (int i = 0; i < count; i++)
                {
                    pins[i].Dispose();
                    pins[i] = default;
                }
            }
        }
        return offset;
    }

    private static void WritePortable(string path, IReadOnlyList<ReadOnlyMemory<byte>> parts, bool fsync, bool replace,
        IncomingData? spilled, int spilledAt)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, replace ? FileMode.Create : FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new IOException($"cannot create {path}: {e.Message}", EEXIST);
        }
        try
        {
            using (file)
            {
                for (int i = 0; i < parts.Count; i++)
                {
                    if (i == spilledAt) spilled?.CopySpilled(piece => file.Write(piece.Span));
                    file.Write(parts[i].Span);
                }
                if (spilledAt >= parts.Count) spilled?.CopySpilled(piece => file.Write(piece.Span));
                if (fsync) file.Flush(flushToDisk: true);
            }
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }
}
