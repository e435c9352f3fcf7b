using System.Text;

namespace ActorMta.Configuration;

/// <summary>
/// A light structural pass over HOCON text, run before Akka's parser sees it. Akka 1.5's parser
/// keeps no positions, accepts many broken inputs silently (a missing value, an unclosed object)
/// and can even loop forever on some (an array closed by '}'). This pass gives us two things:
/// syntax errors with a line number, and for every key path the line where it was last defined,
/// so that a bad value found later can be reported as FILE:LINE.
/// It does not build values; Akka's parser remains the one that decides what the text means.
/// </summary>
internal sealed class HoconSourceMap
{
    private readonly string _text;
    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);
    private readonly List<(int Line, string Message)> _errors = [];
    private int _pos;
    private int _line = 1;

    private HoconSourceMap(string text) => _text = text;

    /// <summary>Syntax problems found, in source order.</summary>
    public IReadOnlyList<(int Line, string Message)> Errors => _errors;

    /// <summary>Scans <paramref name="text"/>; never throws.</summary>
    public static HoconSourceMap Scan(string text)
    {
        var map = new HoconSourceMap(text);
        map.ScanDocument();
        return map;
    }

    /// <summary>The line that defines <paramref name="path"/> (dot-separated), or of its nearest
    /// defined parent object; null when nothing on the path is in this text.</summary>
    public int? LineOf(string path)
    {
        string p = path;
        while (true)
        {
            if (_lines.TryGetValue(p, out int line)) return line;
            int dot = p.LastIndexOf('.');
            if (dot < 0) return null;
            p = p[..dot];
        }
    }

    private bool Eof => _pos >= _text.Length;

    private char Cur => _text[_pos];

    private char Peek(int ahead) => _pos + ahead < _text.Length ? _text[_pos + ahead] : '\0';

    private void Error(int line, string message)
    {
        // One error per line is enough to point the operator at it; avoid cascades.
        if (_errors.Count > 0 && _errors[^1].Line == line) return;
        _errors.Add((line, message));
    }

    private void Advance()
    {
        if (_text[_pos] == '\n') _line++;
        _pos++;
    }

    private bool AtComment => !Eof && (Cur == '#' || (Cur == '/' && Peek(1) == '/'));

    private void SkipToEndOfLine()
    {
        while (!Eof && Cur != '\n') _pos++;
    }

    /// <summary>Skips spaces, tabs, comments and, when <paramref name="newlines"/>, line breaks.</summary>
    private void SkipSpace(bool newlines)
    {
        while (!Eof)
        {
            char c = Cur;
            if (c == ' ' || c == '\t' || c == '\r' || c == '\uFEFF') { _pos++; continue; }
            if (c == '\n' && newlines) { Advance(); continue; }
            if (AtComment) { SkipToEndOfLine(); continue; }
            break;
        }
    }

    private void ScanDocument()
    {
        SkipSpace(newlines: true);
        if (!Eof && Cur == '{')
        {
            int open = _line;
            _pos++;
            ScanObjectBody([], open, record: true);
            SkipSpace(newlines: true);
            if (!Eof) Error(_line, $"unexpected '{Cur}' after the closing '}}' of the document");
            return;
        }

        ScanObjectBody([], openLine: 0, record: true);
    }

    /// <summary>Fields until the matching '}' (or the end of text for the document root, openLine 0).</summary>
    private void ScanObjectBody(string[] prefix, int openLine, bool record)
    {
        while (true)
        {
            SkipSpace(newlines: true);
            while (!Eof && Cur == ',')
            {
                _pos++;
                SkipSpace(newlines: true);
            }

            if (Eof)
            {
                if (openLine > 0) Error(openLine, "'{' is never closed");
                return;
            }

            char c = Cur;
            if (c == '}')
            {
                if (openLine > 0)
                {
                    _pos++;
                    return;
                }

                Error(_line, "unexpected '}' (no '{' is open here)");
                _pos++;
                continue;
            }

            if (c == ']' || c == '[' || c == '=' || c == ':')
            {
                Error(_line, $"unexpected '{c}' where a key was expected");
                _pos++;
                continue;
            }

            int keyLine = _line;
            List<string>? segments = ReadKey();
            if (segments is null)
            {
                SkipToEndOfLine();
                continue;
            }

            if (segments.Count == 1 && segments[0] == "include")
            {
                // The supported forms were resolved before (HoconIncludes); Akka's parser, given no
                // include callback, fails on the rest with a NullReferenceException's message.
                Error(keyLine, "this include is not supported: use include \"file\", include file(\"file\") or include required(...) of those, alone on its line");
                SkipToEndOfLine();
                continue;
            }

            string[] path = [.. prefix, .. segments];
            SkipSpace(newlines: false);
            if (Eof)
            {
                Error(keyLine, $"key '{string.Join('.', segments)}' has no value");
                return;
            }

            if (Cur == '{')
            {
                Record(path, keyLine, record);
                int open = _line;
                _pos++;
                ScanObjectBody(path, open, record);
                continue;
            }

            if (Cur == '=' || Cur == ':' || (Cur == '+' && Peek(1) == '='))
            {
                _pos += Cur == '+' ? 2 : 1;
                SkipSpace(newlines: false);
                Record(path, keyLine, record);
                if (!Eof && Cur == '{')
                {
                    int open = _line;
                    _pos++;
                    ScanObjectBody(path, open, record);
                    continue;
                }

                ScanValue(path, keyLine, inArray: false, record);
                SkipSpace(newlines: false);
                if (!Eof && Cur != '\n' && Cur != ',' && Cur != '}')
                {
                    Error(_line, $"unexpected '{Cur}' after the value of '{string.Join('.', path)}'");
                    SkipToEndOfLine();
                }

                continue;
            }

            Error(keyLine, $"expected '=', ':' or '{{' after key '{string.Join('.', segments)}', found '{Describe(Cur)}'");
            SkipToEndOfLine();
        }
    }

    private static string Describe(char c) => c switch
    {
        '\n' => "end of line",
        _ => c.ToString(),
    };

    private void Record(string[] path, int line, bool record)
    {
        if (!record || path.Length == 0) return;
        for (int i = 1; i < path.Length; i++)
        {
            _lines.TryAdd(string.Join('.', path[..i]), line);
        }

        _lines[string.Join('.', path)] = line;
    }

    private static bool IsKeyTerminator(char c) =>
        c is ' ' or '\t' or '\r' or '\n' or '=' or ':' or '{' or '}' or '[' or ']' or ',' or '#' or '"' or '+';

    /// <summary>A key: unquoted and quoted parts, split at unquoted dots. Null after reporting an error.</summary>
    private List<string>? ReadKey()
    {
        var segments = new List<string>();
        var current = new StringBuilder();
        bool any = false;
        int line = _line;
        while (!Eof)
        {
            char c = Cur;
            if (c == '"')
            {
                string? quoted = ReadQuoted();
                if (quoted is null) return null;
                current.Append(quoted);
                any = true;
                continue;
            }

            if (c == '/' && Peek(1) == '/') break;
            if (IsKeyTerminator(c)) break;
            if (c == '.')
            {
                if (!any)
                {
                    Error(line, "empty key segment (a key starts with '.' or has '..')");
                    return null;
                }

                segments.Add(current.ToString());
                current.Clear();
                any = false;
                _pos++;
                continue;
            }

            current.Append(c);
            any = true;
            _pos++;
        }

        if (!any)
        {
            Error(line, segments.Count == 0 ? $"expected a key, found '{Describe(Eof ? '\n' : Cur)}'" : "a key ends with '.'");
            return null;
        }

        segments.Add(current.ToString());
        return segments;
    }

    /// <summary>A "..." or """...""" string starting at the cursor; null after reporting an unterminated one.</summary>
    private string? ReadQuoted()
    {
        int line = _line;
        if (Peek(1) == '"' && Peek(2) == '"')
        {
            int end = _text.IndexOf("\"\"\"", _pos + 3, StringComparison.Ordinal);
            if (end < 0)
            {
                Error(line, "unterminated \"\"\" string");
                while (!Eof) Advance();
                return null;
            }

            string inner = _text[(_pos + 3)..end];
            while (_pos < end + 3) Advance();
            return inner;
        }

        var sb = new StringBuilder();
        _pos++;
        while (!Eof)
        {
            char c = Cur;
            if (c == '\n') break;
            if (c == '\\')
            {
                if (_pos + 1 >= _text.Length || _text[_pos + 1] == '\n') break;
                sb.Append(_text[_pos + 1]);
                _pos += 2;
                continue;
            }

            if (c == '"')
            {
                _pos++;
                return sb.ToString();
            }

            sb.Append(c);
            _pos++;
        }

        Error(line, "unterminated string (a '\"' is missing before the end of the line)");
        return null;
    }

    /// <summary>One value: a concatenation of strings, unquoted text, substitutions, arrays, objects.</summary>
    private void ScanValue(string[] path, int keyLine, bool inArray, bool record)
    {
        bool any = false;
        while (!Eof)
        {
            char c = Cur;
            if (c == '\n' || c == ',' || c == '}' || c == ']' || AtComment) break;
            if (c == ' ' || c == '\t' || c == '\r')
            {
                _pos++;
                continue;
            }

            if (c == '"')
            {
                if (ReadQuoted() is null) return;
                any = true;
                continue;
            }

            if (c == '[')
            {
                ScanArray(path, record);
                any = true;
                continue;
            }

            if (c == '{')
            {
                int open = _line;
                _pos++;
                // Objects inside arrays or concatenations are not addressable by a plain path.
                ScanObjectBody(path, open, record: false);
                any = true;
                continue;
            }

            if (c == '$' && Peek(1) == '{')
            {
                int close = _text.IndexOf('}', _pos);
                int newline = _text.IndexOf('\n', _pos);
                if (close < 0 || (newline >= 0 && newline < close))
                {
                    Error(_line, "unterminated substitution '${'");
                    SkipToEndOfLine();
                    return;
                }

                _pos = close + 1;
                any = true;
                continue;
            }

            if (c == '=')
            {
                Error(_line, $"unexpected '=' in the value of '{string.Join('.', path)}' (quote the value if '=' belongs to it)");
                SkipToEndOfLine();
                return;
            }

            // Unquoted text: up to a character that ends or splits a value.
            while (!Eof)
            {
                char u = Cur;
                if (u is '\n' or ',' or '}' or ']' or '[' or '{' or '"' or '=' or '#' || (u == '/' && Peek(1) == '/') ||
                    (u == '$' && Peek(1) == '{'))
                {
                    break;
                }

                _pos++;
            }

            any = true;
        }

        if (!any)
        {
            Error(inArray ? _line : keyLine, inArray
                ? $"missing array element in '{string.Join('.', path)}'"
                : $"key '{string.Join('.', path)}' has no value");
        }
    }

    private void ScanArray(string[] path, bool record)
    {
        int open = _line;
        _pos++;
        while (true)
        {
            SkipSpace(newlines: true);
            if (Eof)
            {
                Error(open, $"'[' of '{string.Join('.', path)}' is never closed");
                return;
            }

            if (Cur == ']')
            {
                _pos++;
                return;
            }

            if (Cur == '}')
            {
                Error(_line, $"'[' opened on line {open} for '{string.Join('.', path)}' is closed by '}}' instead of ']'");
                return;
            }

            ScanValue(path, open, inArray: true, record);
            SkipSpace(newlines: true);
            if (!Eof && Cur == ',') _pos++;
        }
    }
}
