using System.Net;

namespace ActorMta.Interop.Tests.Targets;

/// <summary>
/// An SMTP server under test that logs in Exim's main-log format and delivers local mail to
/// maildirs: ActorMta itself, or Exim 4.96 as the reference the harness was first checked against.
/// </summary>
public interface ISmtpTarget : IAsyncDisposable
{
    string Name { get; }

    IPEndPoint EndPoint { get; }

    /// <summary>The main log as it is now (empty when not yet written).</summary>
    IReadOnlyList<string> MainLogLines();

    /// <summary>Files in <c>maildir/&lt;localPart&gt;/new/</c>, oldest first.</summary>
    IReadOnlyList<string> DeliveredFiles(string localPart);
}

public static class SmtpTargetExtensions
{
    /// <summary>Reception lines (<c>&lt;=</c>) of the main log, in order.</summary>
    public static IReadOnlyList<string> ReceptionLines(this ISmtpTarget target) =>
        target.MainLogLines().Where(l => l.Contains(" <= ", StringComparison.Ordinal)).ToList();

    /// <summary>Waits until at least <paramref name="count"/> messages sit in the local part's maildir.</summary>
    public static async Task<IReadOnlyList<string>> WaitForDeliveriesAsync(
        this ISmtpTarget target, string localPart, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var files = target.DeliveredFiles(localPart);
            if (files.Count >= count) return files;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"{target.Name}: {files.Count} of {count} messages delivered to {localPart} after {timeout}; main log:\n"
                    + string.Join('\n', target.MainLogLines()));
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Files in a maildir's new/ folder, oldest first.</summary>
    public static IReadOnlyList<string> MaildirNew(string maildirRoot, string localPart)
    {
        var dir = Path.Combine(maildirRoot, localPart, "new");
        if (!Directory.Exists(dir)) return [];
        return new DirectoryInfo(dir).GetFiles()
            .OrderBy(f => f.LastWriteTimeUtc).ThenBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => f.FullName)
            .ToList();
    }

    /// <summary>Reads a main log that may be missing or still being written.</summary>
    public static IReadOnlyList<string> ReadLog(string path)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines;
    }
}
