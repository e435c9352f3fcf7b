using System.Text;

namespace ActorMta.Inbound;

/// <summary>Client bytes made safe for one main-log line, the way Exim quotes them (\r, \n, \xNN).</summary>
internal static class LogText
{
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length + 8);
        foreach (var b in bytes)
        {
            switch (b)
            {
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case < 0x20 or >= 0x7f: sb.Append("\\x").Append(b.ToString("x2")); break;
                default: sb.Append((char)b); break;
            }
        }
        return sb.ToString();
    }
}
