namespace ActorMta.Smtp;

public sealed class DomainList
{
    private readonly string[] _items;

    private DomainList(string[] items) => _items = items;

    public IReadOnlyList<string> Items => _items;

    public static DomainList Parse(IEnumerable<string> items) => new([.. items]);

    public bool Contains(string domain) => throw new NotImplementedException();
}
