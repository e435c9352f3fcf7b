namespace ActorMta.Configuration;

/// <summary>
/// One problem in the configuration: where it is (<c>FILE:LINE</c>, or <c>--set path=value</c>),
/// which key, and why. <see cref="ToString"/> gives the one-line form printed to operators.
/// </summary>
/// <param name="Location">"hocon/actormta.conf:12", "--set actormta.smtp.max-recipients=abc", or
/// "reference.conf (embedded):3".</param>
/// <param name="Path">The full key path (<c>actormta.smtp.max-recipients</c>); null for syntax errors.</param>
/// <param name="Message">What is wrong, e.g. <c>expected a positive integer, got "abc"</c>.</param>
public sealed record ConfigurationError(string Location, string? Path, string Message)
{
    public override string ToString() => Path is null ? $"{Location}: {Message}" : $"{Location}: {Path}: {Message}";
}

/// <summary>
/// Every configuration problem found at once. The message has one line per error, in the
/// <c>FILE:LINE: key: why</c> form, so an operator can fix them all in one pass.
/// Not to be confused with <c>Akka.Configuration.ConfigurationException</c>, which Akka throws
/// for its own keys.
/// </summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(IReadOnlyList<ConfigurationError> errors)
        : base(Format(errors)) => Errors = errors;

    /// <summary>The individual problems, in the order found (file order, then --set order).</summary>
    public IReadOnlyList<ConfigurationError> Errors { get; }

    private static string Format(IReadOnlyList<ConfigurationError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return string.Join(Environment.NewLine, errors.Select(e => e.ToString()));
    }
}
