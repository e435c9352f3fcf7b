using System.Text.RegularExpressions;

namespace ActorMta.Configuration;

/// <summary>
/// Resolves a configuration file's <c>include</c> directives before it is parsed: each one, on a
/// line of its own, is replaced by the lines of the file it names, so that the included keys land
/// where the directive stands (at the top, or inside an object). The result remembers the file and
/// line each of its lines came from, so that every error and every "# from" still names the file
/// and line an operator wrote it in. Akka's parser resolves includes only through a callback, and
/// would keep no positions.
/// </summary>
/// <remarks>
/// As in HOCON: <c>include "f"</c> and <c>include file("f")</c> name a file relative to the
/// including file's directory, and are skipped when it does not exist; <c>include required(...)</c>
/// is an error then. <c>url(...)</c> and <c>classpath(...)</c> are not supported.
/// </remarks>
internal static partial class HoconIncludes
{
    /// <summary>How deep includes may nest (a cycle is caught before this).</summary>
    public const int MaxDepth = 10;

    /// <summary>The text with every include resolved, and where each of its lines came from ("file:line").</summary>
    public sealed record Expanded(string Text, IReadOnlyList<string> Origins)
    {
        /// <summary>"file:line" for a 1-based line of <see cref="Text"/>.</summary>
        public string At(int line) => Origins.Count == 0 ? "" : Origins[Math.Clamp(line, 1, Origins.Count) - 1];

        /// <summary>The first line of <see cref="Text"/> that came from <paramref name="location"/> ("file:line"), or null.</summary>
        public int? PositionOf(string location)
        {
            for (int i = 0; i < Origins.Count; i++)
            {
                if (Origins[i] == location) return i + 1;
            }
            return null;
        }
    }

    /// <param name="skipForbidden">Skip an included file this user may not read, as if it were
    /// missing: for local submission by any user (see <see cref="SettingsLoader.Load(string?, IReadOnlyList{string}, bool)"/>).</param>
    public static Expanded Expand(string file, string text, List<ConfigurationError> errors, bool skipForbidden = false)
    {
        var lines = new List<string>();
        var origins = new List<string>();
        Append(file, text, [Path.GetFullPath(file)], lines, origins, errors, skipForbidden);
        return new Expanded(string.Join('\n', lines), origins);
    }

    /// <summary>Adds the lines of <paramref name="text"/> (from <paramref name="file"/>), each with its origin.</summary>
    private static void Append(string file, string text, List<string> open, List<string> lines, List<string> origins, List<ConfigurationError> errors,
        bool skipForbidden)
    {
        string[] own = text.Split('\n');
        for (int i = 0; i < own.Length; i++)
        {
            string at = $"{file}:{i + 1}";
            var directive = Directive().Match(own[i]);
            // The directive's own line stays, blank, ahead of what it includes.
            lines.Add(directive.Success ? "" : own[i]);
            origins.Add(at);
            if (!directive.Success) continue;

            string named = directive.Groups["name"].Value;
            bool required = directive.Groups["required"].Success;
            string target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", named));
            if (open.Contains(target, StringComparer.Ordinal))
            {
                errors.Add(new ConfigurationError(at, null, $"include \"{named}\": {target} includes itself (through {string.Join(" -> ", open)})"));
                continue;
            }
            if (open.Count >= MaxDepth)
            {
                errors.Add(new ConfigurationError(at, null, $"include \"{named}\": includes nest more than {MaxDepth} deep"));
                continue;
            }
            string included;
            try
            {
                included = File.ReadAllText(target);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException && !required)
            {
                continue; // HOCON: a missing file that is not required(...) is no error
            }
            catch (UnauthorizedAccessException) when (skipForbidden)
            {
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                string why = Directory.Exists(target) ? "it is a directory" : e.Message;
                errors.Add(new ConfigurationError(at, null, $"include \"{named}\": cannot read {target}: {why}"));
                continue;
            }
            Append(target, included, [.. open, target], lines, origins, errors, skipForbidden);
        }
    }

    /// <summary><c>include "f"</c>, <c>include file("f")</c>, <c>include required("f")</c> or
    /// <c>include required(file("f"))</c>, alone on its line (a comment may follow).</summary>
    [GeneratedRegex("""^\s*include\s+(?:"(?<name>[^"]+)"|file\(\s*"(?<name>[^"]+)"\s*\)|(?<required>required)\(\s*(?:"(?<name>[^"]+)"|file\(\s*"(?<name>[^"]+)"\s*\))\s*\))\s*(?:(?:#|//).*)?\r?$""")]
    private static partial Regex Directive();
}
