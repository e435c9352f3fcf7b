using System.Net;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>A server under load: accepts for <see cref="Domain"/>, spools durably, delivers to a maildir.</summary>
public interface IBenchServer : IAsyncDisposable
{
    const string Domain = "bench.example";
    const string Mailbox = "u";

    string Name { get; }

    IPEndPoint EndPoint { get; }

    /// <summary>The server's main process (for RSS).</summary>
    int ProcessId { get; }

    /// <summary>Messages delivered so far to <see cref="Mailbox"/>.</summary>
    int DeliveredCount();

    /// <summary>False when the server only queues during the benchmark (Exim unless asked to deliver).</summary>
    bool Delivers => true;

    /// <summary>Called when the load generator has its last 250: a server that holds deliveries
    /// during the load (Exim here) starts them now. ActorMta delivers all along.</summary>
    void LoadFinished() { }
}

public static class Maildir
{
    public static int CountNew(string maildirRoot)
    {
        var dir = Path.Combine(maildirRoot, IBenchServer.Mailbox, "new");
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir).Count() : 0;
    }
}
