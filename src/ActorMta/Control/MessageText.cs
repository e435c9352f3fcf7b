using System.Text;

namespace ActorMta.Control;

/// <summary>
/// A locally submitted message as header fields and a body, for the few edits local submission
/// makes (add a missing header, remove Bcc). Line endings become CRLF; a header section that
/// ends without a blank line (a body line that is not a header) gets one, as Exim does.
/// </summary>
internal sealed class MessageText
{
    private readonly List<(string Name, string Raw)> _headers = [];
    private byte[] _body = [];

    public static MessageText Parse(byte[] data)
    {
        var text = new MessageText();
        var normalized = ToCrlf(data);
        int position = 0;
        while (position < normalized.Length)
        {
            int end = IndexOfCrlf(normalized, position);
            int lineEnd = end < 0 ? normalized.Length : end;
            var line = normalized.AsSpan(position, lineEnd - position);
            int next = end < 0 ? normalized.Length : end + 2;
            if (line.Length == 0)
            {
                position = next;
                break;
            }
            if ((line[0] == ' ' || line[0] == '\t') && text._headers.Count > 0)
            {
                var (name, raw) = text._headers[^1];
                text._headers[^1] = (name, raw + Encoding.UTF8.GetString(normalized, position, next - position));
                position = next;
                continue;
            }
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsFieldName(line[..colon])) break; // the body starts here, without a blank line
            text._headers.Add((Encoding.ASCII.GetString(line[..colon]).Trim(), Encoding.UTF8.GetString(normalized, position, next - position)));
            position = next;
        }
        text._body = normalized[position..];
        return text;
    }

    public bool Has(string name) => _headers.Any(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The unfolded values of every field called <paramref name="name"/>.</summary>
    public IEnumerable<string> Values(string name) => _headers
        .Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        .Select(h => h.Raw[(h.Raw.IndexOf(':') + 1)..].Replace("\r\n", "", StringComparison.Ordinal).Trim());

    public void Remove(string name) => _headers.RemoveAll(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    public void Add(string name, string value) => _headers.Add((name, $"{name}: {value}\r\n"));

    public byte[] ToBytes()
    {
        var output = new MemoryStream();
        foreach (var (_, raw) in _headers) output.Write(Encoding.UTF8.GetBytes(raw));
        output.Write("\r\n"u8);
        output.Write(_body);
        if (_body.Length > 0 && !_body.AsSpan().EndsWith("\r\n"u8)) output.Write("\r\n"u8);
        return output.ToArray();
    }

    private static bool IsFieldName(ReadOnlySpan<byte> name)
    {
        foreach (byte b in name)
        {
            if (b < 33 || b > 126) return false;
        }
        return true;
    }

    private static int IndexOfCrlf(byte[] data, int from)
    {
        int i = data.AsSpan(from).IndexOf("\r\n"u8);
        return i < 0 ? -1 : from + i;
    }

    /// <summary>LF and CRLF line endings become CRLF (sendmail input is Unix text).</summary>
    private static byte[] ToCrlf(byte[] data)
    {
        var output = new MemoryStream(data.Length + data.Length / 40 + 2);
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            if (b == '\n' && (i == 0 || data[i - 1] != '\r')) output.WriteByte((byte)'\r');
            output.WriteByte(b);
        }
        return output.ToArray();
    }
}
