using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using static ActorMta.Unix.Libc;

namespace ActorMta.Logging;

/// <summary>
/// A log file that an operator can rotate while the MTA runs, the way Exim's logs are rotated: by
/// renaming it (logrotate's default, exicyclog), by deleting it, or by copying and truncating it
/// (logrotate's <c>copytruncate</c>). Linux only; elsewhere the host uses Serilog's file sink.
/// </summary>
/// <remarks>
/// <para>Serilog's file sink keeps writing to the file it opened: after a rename every later line
/// goes to the renamed file and the configured path never comes back; after a truncation it writes
/// at its old offset, leaving a hole of zero bytes as long as the old content (both seen on
/// 2026-11-30 with <c>mv</c> and <c>truncate</c>). Here the file is opened with <c>O_APPEND</c>, so
/// every line goes to the end as it is now (no hole after a truncation, and lines of another
/// process writing the same log stay whole), and at most once a second, at a write, the sink checks
/// that its path still names the file it has open; if not, it opens the path again, creating it.</para>
/// <para>The check reads <c>/proc/self/fd/N</c>, which names the open file's current path: one
/// <c>readlink</c> a second, not a <c>stat</c> per line.</para>
/// </remarks>
internal sealed class RotatableLogFile : ILogEventSink, IDisposable
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    private readonly string _path;
    private readonly ITextFormatter _formatter;
    private readonly StringWriter _text = new(System.Globalization.CultureInfo.InvariantCulture);
    private readonly object _gate = new();
    private SafeFileHandle _file;
    private byte[] _bytes = new byte[4096];
    private long _nextCheck;

    public RotatableLogFile(string path, ITextFormatter formatter)
    {
        _path = Path.GetFullPath(path);
        _formatter = formatter;
        _file = Open(_path);
        _nextCheck = Environment.TickCount64 + (long)CheckEvery.TotalMilliseconds;
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_gate)
        {
            _text.GetStringBuilder().Clear();
            _formatter.Format(logEvent, _text);
            var builder = _text.GetStringBuilder();
            int length = Encoding.UTF8.GetMaxByteCount(builder.Length);
            if (_bytes.Length < length) _bytes = new byte[Math.Max(length, _bytes.Length * 2)];
            int count = 0;
            foreach (var chunk in builder.GetChunks()) count += Encoding.UTF8.GetBytes(chunk.Span, _bytes.AsSpan(count));

            long now = Environment.TickCount64;
            if (now >= _nextCheck)
            {
                _nextCheck = now + (long)CheckEvery.TotalMilliseconds;
                if (!StillAtPath()) Reopen();
            }
            Append(_bytes.AsSpan(0, count));
        }
    }

    public void Dispose()
    {
        lock (_gate) _file.Dispose();
    }

    /// <summary>Whether the path still names the open file (not renamed, not deleted).</summary>
    private bool StillAtPath()
    {
        // Without /proc (a container without it), a deleted file is still noticed.
        if (!HasProc) return File.Exists(_path);
        try
        {
            return new FileInfo($"/proc/self/fd/{_file.DangerousGetHandle()}").LinkTarget == _path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return File.Exists(_path);
        }
    }

    private static readonly bool HasProc = Directory.Exists("/proc/self/fd");

    private void Reopen()
    {
        SafeFileHandle next;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            next = Open(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // the old file goes on getting the lines; tried again a second later
        }
        _file.Dispose();
        _file = next;
    }

    private unsafe void Append(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* start = bytes)
        {
            for (int done = 0; done < bytes.Length;)
            {
                nint written = write(_file.DangerousGetHandle().ToInt32(), start + done, bytes.Length - done);
                if (written < 0)
                {
                    int error = Marshal.GetLastPInvokeError();
                    if (error == EINTR) continue;
                    throw new IOException($"cannot write {_path}: {Describe(error)}", error);
                }
                done += (int)written;
            }
        }
    }

    private static SafeFileHandle Open(string path)
    {
        // 0644 before the umask, as a log file is usually made.
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0x1A4);
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open {path}: {Describe(error)}", error);
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }
}
