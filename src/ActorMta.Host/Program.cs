namespace ActorMta.Host;

/// <summary>Entry point of the <c>actormta</c> program; see <see cref="Cli"/> for the verbs.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) =>
        Cli.RunAsync(InvocationName.Expand(InvocationName.FromProc(), args), Console.Out, Console.Error, Console.OpenStandardInput());
}
