
namespace ActorMta.Interop.Tests.Peers;

/// <summary>
/// A <see cref="FactAttribute"/> that needs third-party programs. When one is missing the test is
/// skipped with the reason, unless <c>ACTORMTA_REQUIRE_PEERS</c> is set: then it runs and fails
/// in <see cref="PeerBinaries.Require"/>, so CI can never go green without its peers.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class PeerFactAttribute : FactAttribute
{
    public PeerFactAttribute(params string[] peers)
    {
        Peers = peers;
        if (PeerBinaries.Required) return;
        var reasons = peers
            .Select(p => PeerBinaries.Find(p, out var why) is null ? why : null)
            .OfType<string>()
            .ToArray();
        if (reasons.Length > 0) Skip = string.Join("; ", reasons);
    }

    public IReadOnlyList<string> Peers { get; }
}
