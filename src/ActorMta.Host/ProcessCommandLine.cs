using System.Text;

namespace ActorMta.Host;

/// <summary>
/// This process's argv exactly as its caller passed it, from <c>/proc/self/cmdline</c>. .NET gives
/// only its own view: the program's resolved path first (the link's target, not the link), then
/// the arguments after the runtime's own.
/// </summary>
internal static class ProcessCommandLine
{
    /// <exception cref="IOException">/proc is missing or unreadable.</exception>
    /// <exception cref="UnauthorizedAccessException">/proc is not ours to read.</exception>
    public static string[] Read() =>
        Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline")).TrimEnd('\0').Split('\0');
}
