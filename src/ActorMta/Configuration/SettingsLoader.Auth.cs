using ActorMta.Auth;

namespace ActorMta.Configuration;

// actormta.auth: the server's SMTP AUTH and its users file.
public static partial class SettingsLoader
{
    private static AuthSettings ReadAuth(Reader r, string dataDirectory)
    {
        const string section = "actormta.auth";
        var mechanisms = r.StringList($"{section}.mechanisms").Select(m => m.Trim().ToUpperInvariant()).ToList();
        foreach (string mechanism in mechanisms.Where(m => !AuthSettings.Supported.Contains(m)))
        {
            r.Fail($"{section}.mechanisms", $"unknown mechanism \"{mechanism}\" (supported: {string.Join(", ", AuthSettings.Supported)})");
        }

        if (mechanisms.Distinct().Count() != mechanisms.Count) r.Fail($"{section}.mechanisms", "a mechanism is listed twice");

        int iterations = r.PositiveInt($"{section}.password-iterations", minimum: PasswordHash.MinimumIterations);
        return new AuthSettings(
            Mechanisms: mechanisms,
            AdvertiseHosts: r.HostList($"{section}.advertise-hosts"),
            AllowCleartext: r.Bool($"{section}.allow-cleartext"),
            UsersFile: r.Path($"{section}.users-file", emptyMeans: Path.Combine(dataDirectory, "users"))!,
            PasswordIterations: iterations,
            MaxFailures: r.PositiveInt($"{section}.max-failures"),
            FailureWindow: r.Duration($"{section}.failure-window"),
            FailureDelay: r.ZeroOrDuration($"{section}.failure-delay"),
            MaxTrackedClients: r.PositiveInt($"{section}.max-tracked-clients"));
    }

    private sealed partial class Reader
    {
        /// <summary>A duration that may also be 0 (off), e.g. "0s" or "500ms".</summary>
        public TimeSpan ZeroOrDuration(string path)
        {
            string text = String(path, allowEmpty: false);
            if (text.Trim() == "0") return TimeSpan.Zero;
            TimeSpan? value = ParseDuration(text);
            if (value is null || value.Value < TimeSpan.Zero)
            {
                Fail(path, $"expected 0 or a duration with a unit (ms, s, m, h, d), such as 1s, got \"{text}\"");
                return TimeSpan.Zero;
            }

            return value.Value;
        }
    }
}
