using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using ActorMta.Configuration;
using ActorMta.Spool;

namespace ActorMta.Delivery.Local;

/// <summary>What became of one maildir delivery.</summary>
public abstract record LocalDeliveryResult
{
    private LocalDeliveryResult() { }

    /// <summary>The file is durably in <c>new/</c> (or was already there, or already read into <c>cur/</c>).</summary>
    public sealed record Delivered(string Path, bool AlreadyPresent) : LocalDeliveryResult;

    /// <summary>Could not deliver now (I/O trouble); try again later.</summary>
    public sealed record Deferred(string Reason) : LocalDeliveryResult;

    /// <summary>Can never be delivered: an unknown user (5.1.1), a local part that is no safe directory name (5.1.3).</summary>
    public sealed record Failed(string Reason, string EnhancedCode = "5.1.3") : LocalDeliveryResult;
}

/// <summary>
/// Delivery into <c>&lt;MaildirRoot&gt;/&lt;local part, lower-cased&gt;/{tmp,new,cur}</c>, exactly once
/// across crashes.
/// </summary>
/// <remarks>
/// <para>Each delivery writes <c>Return-Path:</c> and <c>Delivered-To:</c> followed by the spooled data
/// to <c>tmp/NAME</c>, fsyncs it, renames it to <c>new/NAME</c> and fsyncs <c>new/</c> (group-committed
/// like the spool's directory). Only then does the queue journal the recipient as delivered.</para>
/// <para>NAME is not the usual random unique name but is derived from the message:
/// <c>&lt;unix seconds received&gt;.&lt;spool id&gt;_&lt;recipient index&gt;.&lt;host&gt;</c> (host as in the maildir
/// convention, with <c>/</c> and <c>:</c> escaped). The spool id is unique, so the name is; and it is
/// the SAME name when a delivery is repeated because the process crashed after the rename but before
/// the journal record. A repeated delivery therefore first looks for that name in <c>new/</c> and
/// (a mail reader may have moved it already) for <c>NAME:2,...</c> in <c>cur/</c>, and does nothing if
/// it is there. The scan of <c>cur/</c> is done only for deliveries that may be repeats (the message
/// was recovered from the spool or deferred before); a first attempt checks only <c>new/</c>.</para>
/// <para>The headers use the data's own line ending (CRLF or LF, from its first line), so the file
/// is the original data with two lines in front.</para>
/// </remarks>
public sealed class MaildirDelivery
{
    private readonly string _root;
    private readonly LocalDeliverySettings _settings;
    private readonly IReadOnlySet<string> _users;
    private readonly string _host;
    private readonly bool _fsync;
    private readonly ConcurrentDictionary<string, bool> _knownMaildirs = new(StringComparer.Ordinal);

    /// <param name="settings">Where the maildirs live.</param>
    /// <param name="hostname">Host part of the file names (the MTA's primary hostname).</param>
    /// <param name="fsync">fsync files and directories (off only in tests that do not need it).</param>
    /// <param name="users"><c>policy.local-users</c>: with a list, mail for anyone else fails (see <see cref="LocalUsers"/>).</param>
    public MaildirDelivery(LocalDeliverySettings settings, string hostname, bool fsync = true, IReadOnlySet<string>? users = null)
    {
        _root = Path.GetFullPath(settings.MaildirRoot);
        _settings = settings;
        _users = users ?? new HashSet<string>();
        _host = hostname.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);
        _fsync = fsync;
    }

    /// <summary>Root folder of all maildirs.</summary>
    public string Root => _root;

    /// <summary>The users whose maildirs receive <paramref name="address"/>'s mail: its local part,
    /// cut at the recipient delimiter, or an alias's targets (<see cref="LocalDeliverySettings.UsersOf"/>);
    /// null if the local part is no safe folder name.</summary>
    public IReadOnlyList<string>? UsersOf(string address)
    {
        // Alias targets were checked when the configuration was read, and a safe local part's
        // beginning (cut at the delimiter, never empty) is safe too.
        string? localPart = SafeLocalPart(address);
        return localPart is null ? null : _settings.UsersOf(localPart).Users;
    }

    /// <summary>The deterministic file name of one (message, recipient) delivery.</summary>
    public string FileNameFor(string messageId, int recipientIndex, DateTimeOffset receivedAt)
        => string.Create(CultureInfo.InvariantCulture, $"{receivedAt.ToUnixTimeSeconds()}.{messageId}_{recipientIndex}.{_host}");

    /// <summary>
    /// Delivers a spooled message to one recipient: into its user's maildir, or into each of an
    /// alias's users' maildirs in turn. Blocking I/O runs on the spool's I/O threads.
    /// </summary>
    /// <param name="maybeRepeated">The message may have been delivered to this recipient before a
    /// crash (recovered from the spool or attempted before): look in <c>cur/</c> too.</param>
    /// <remarks>An alias's users share the file name, so when one maildir defers, the retry (an
    /// attempt after this one, so <paramref name="maybeRepeated"/>) finds the copies already made
    /// and adds only the missing ones.</remarks>
    public async Task<LocalDeliveryResult> DeliverAsync(
        Envelope envelope, int recipientIndex, Func<Stream> openData, bool maybeRepeated, CancellationToken cancellationToken = default)
    {
        string recipient = envelope.Recipients[recipientIndex].Address;
        string? localPart = SafeLocalPart(recipient);
        if (localPart is null) return new LocalDeliveryResult.Failed($"local part of <{recipient}> is not a safe mailbox name");
        if (!LocalUsers.Exists(_users, _settings, localPart))
        {
            return new LocalDeliveryResult.Failed("unknown user (not in policy.local-users)", "5.1.1");
        }

        string name = FileNameFor(envelope.MessageId, recipientIndex, envelope.ReceivedAt);
        LocalDeliveryResult? first = null;
        foreach (string user in _settings.UsersOf(localPart).Users)
        {
            var result = await DeliverToAsync(Path.Combine(_root, user), name, envelope, recipient, openData, maybeRepeated, cancellationToken).ConfigureAwait(false);
            if (result is not LocalDeliveryResult.Delivered) return result;
            first ??= result;
        }
        return first!;
    }

    private async Task<LocalDeliveryResult> DeliverToAsync(
        string maildir, string name, Envelope envelope, string recipient, Func<Stream> openData, bool maybeRepeated, CancellationToken cancellationToken)
    {
        string newDir = Path.Combine(maildir, "new");
        string target = Path.Combine(newDir, name);
        try
        {
            var newDirDurable = await DurableIo.Run(() =>
            {
                EnsureMaildir(maildir);
                if (AlreadyDelivered(maildir, name, maybeRepeated)) return null;
                string temp = Path.Combine(maildir, "tmp", name);
                try
                {
                    WriteMessage(temp, envelope.Sender, recipient, openData);
                    File.Move(temp, target, overwrite: true);
                }
                catch
                {
                    try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                    throw;
                }
                return _fsync ? DirectorySync.For(newDir).SyncAsync() : Task.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);

            if (newDirDurable is null) return new LocalDeliveryResult.Delivered(target, AlreadyPresent: true);
            await newDirDurable.ConfigureAwait(false);
            return new LocalDeliveryResult.Delivered(target, AlreadyPresent: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SpoolException)
        {
            return new LocalDeliveryResult.Deferred($"maildir delivery to {maildir} failed: {e.Message}");
        }
    }

    /// <summary>Messages up to this size are written with one pwritev(2) from one buffer.</summary>
    private const int WholeInOneWrite = 1024 * 1024;

    private void WriteMessage(string path, string sender, string recipient, Func<Stream> openData)
    {
        using var data = openData();
        if (data.Length <= WholeInOneWrite)
        {
            // The common case. A FileStream here added an flock(2) for FileShare, an ftruncate(2)
            // for FileMode.Create and a write per part, around the one write and fsync the file needs.
            var buffer = ArrayPool<byte>.Shared.Rent((int)data.Length);
            try
            {
                var message = buffer.AsMemory(0, (int)data.Length);
                data.ReadExactly(message.Span);
                byte[] headerBytes = Headers(sender, recipient, LineEnding(message.Span[..Math.Min(8192, message.Length)]));
                NewFile.Write(path, [headerBytes, message], _fsync, replace: true);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            return;
        }

        var first = new byte[8192];
        data.ReadExactly(first);
        byte[] headers = Headers(sender, recipient, LineEnding(first));

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        file.Write(headers);
        file.Write(first);
        data.CopyTo(file, 64 * 1024);
        if (_fsync) file.Flush(flushToDisk: true);
    }

    private static byte[] Headers(string sender, string recipient, string eol) =>
        Encoding.UTF8.GetBytes($"Return-Path: <{sender}>{eol}Delivered-To: {recipient}{eol}");

    private static string LineEnding(ReadOnlySpan<byte> start)
    {
        int lf = start.IndexOf((byte)'\n');
        return lf < 0 || (lf > 0 && start[lf - 1] == '\r') ? "\r\n" : "\n";
    }

    private static bool AlreadyDelivered(string maildir, string name, bool maybeRepeated)
    {
        if (File.Exists(Path.Combine(maildir, "new", name))) return true;
        if (!maybeRepeated) return false;
        string cur = Path.Combine(maildir, "cur");
        foreach (string path in Directory.EnumerateFiles(cur, name + "*"))
        {
            string found = Path.GetFileName(path);
            if (found.Length == name.Length || found[name.Length] == ':') return true;
        }
        return false;
    }

    /// <summary>Creates <c>tmp</c>, <c>new</c>, <c>cur</c> as needed, and makes new folders durable.</summary>
    private void EnsureMaildir(string maildir)
    {
        if (_knownMaildirs.ContainsKey(maildir)) return;
        bool created = !Directory.Exists(maildir);
        foreach (string sub in (ReadOnlySpan<string>)["tmp", "new", "cur"])
        {
            string path = Path.Combine(maildir, sub);
            if (!Directory.Exists(path))
            {
                Directory.CreateDirectory(path);
                created = true;
            }
        }
        if (created && _fsync)
        {
            FileSync.Directory(maildir);
            FileSync.Directory(_root);
        }
        _knownMaildirs.TryAdd(maildir, true);
    }

    /// <summary>
    /// The folder name for an address: its local part (everything before the last <c>@</c>, quotes of
    /// a quoted local part removed), lower-cased. Null when that could escape the maildir root or
    /// clash with maildir conventions: empty, <c>.</c>/<c>..</c>, leading dot, a slash, a control character.
    /// </summary>
    internal static string? SafeLocalPart(string address)
    {
        int at = address.LastIndexOf('@');
        string localPart = at < 0 ? address : address[..at];
        if (localPart.Length >= 2 && localPart[0] == '"' && localPart[^1] == '"') localPart = localPart[1..^1];
        localPart = localPart.ToLowerInvariant();
        if (localPart.Length == 0 || localPart.Length > 255 || localPart[0] == '.') return null;
        foreach (char c in localPart)
        {
            if (c is '/' or '\\' || char.IsControl(c)) return null;
        }
        return localPart;
    }
}
