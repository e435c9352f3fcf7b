using Serilog;

namespace ActorMta.Logging;

/// <summary>
/// Exim-format main log (<c>&lt;=</c>, <c>=&gt;</c>, <c>==</c>, <c>**</c>, <c>Completed</c>, rejections).
/// Lines go through Serilog tagged with <see cref="Property"/>, so the host routes them to the
/// mainlog file with Exim's "yyyy-MM-dd HH:mm:ss line" layout while other sinks see them too.
/// The text is written verbatim (`:l`), so operators' exigrep/eximstats parse it.
/// </summary>
public sealed class MainLog
{
    /// <summary>Serilog property that marks an event as a main-log line.</summary>
    public const string Property = "MainLog";

    private readonly ILogger _logger;

    public MainLog(ILogger logger) => _logger = logger.ForContext(Property, true);

    public void Write(string line) => _logger.Information("{MainLogLine:l}", line);
}
