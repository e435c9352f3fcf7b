using System.Net;

namespace ActorMta.Smtp;

public sealed class HostList
{
    private readonly string[] _items;

    private HostList(string[] items) => _items = items;

    public static HostList Empty { get; } = new([]);

    public static HostList Any { get; } = new(["*"]);

    public IReadOnlyList<string> Items => _items;

    public static HostList Parse(IEnumerable<string> items) => new([.. items]);

    public bool Matches(IPAddress address, string? hostName = null) => throw new NotImplementedException();
}
