using System.Text;

namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.control</c>: enabled, the socket path (empty: in the data directory) and its limits.</summary>
    private static ControlSettings ReadControl(Reader r, string dataDirectory)
    {
        var defaults = ControlSettings.Default(dataDirectory);
        bool enabled = r.Bool("actormta.control.enabled");
        string socket = r.Path("actormta.control.socket", emptyMeans: defaults.SocketPath) ?? defaults.SocketPath;
        if (enabled && Encoding.UTF8.GetByteCount(socket) > ControlSettings.MaxSocketPathBytes)
        {
            string tooLong = $"is longer than the {ControlSettings.MaxSocketPathBytes} bytes a Unix socket path may have";
            // The socket left at its default lives in the data directory: the name the operator
            // wrote, and the one to change, is the directory's.
            if (socket == defaults.SocketPath)
                r.Fail("actormta.data-directory",
                    $"the control socket in it, \"{socket}\", {tooLong}; choose a shorter data directory or set actormta.control.socket to a shorter path");
            else
                r.Fail("actormta.control.socket", $"\"{socket}\" {tooLong}; choose a shorter path");
        }
        return new ControlSettings(enabled, socket)
        {
            RequestTimeout = r.Duration("actormta.control.request-timeout"),
            MaxConnections = r.PositiveInt("actormta.control.max-connections"),
        };
    }
}
