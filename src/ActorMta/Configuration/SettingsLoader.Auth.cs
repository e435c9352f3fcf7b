using ActorMta.Auth;
using ActorMta.Routing;
using Akka.Configuration.Hocon;

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
            FailureDelay: r.DurationOrZero($"{section}.failure-delay"),
            MaxTrackedClients: r.PositiveInt($"{section}.max-tracked-clients"));
    }

    private sealed partial class Reader
    {
        /// <summary>A smarthost route's <c>auth { user, password, allow-cleartext }</c>; null (and an error) when malformed.</summary>
        private SmarthostAuth? SmarthostAuth(string path, string at, HoconValue value)
        {
            if (!value.IsObject())
            {
                Fail(path, $"{at}: \"auth\" must be an object {{ user, password, allow-cleartext }}");
                return null;
            }

            var items = value.GetObject().Items;
            foreach (string key in items.Keys.Where(k => k is not ("user" or "password" or "allow-cleartext")))
            {
                Fail(path, $"{at}.auth: unknown key \"{key}\" (expected user, password, allow-cleartext)");
            }

            string? Text(string key) => items.TryGetValue(key, out HoconValue? v) && v.IsString() ? v.GetString() : null;
            string? user = Text("user");
            string? password = Text("password");
            if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(password))
            {
                Fail(path, $"{at}.auth: \"user\" and \"password\" must be non-empty strings");
                return null;
            }

            bool allowCleartext = false;
            if (Text("allow-cleartext") is { } flag)
            {
                switch (flag.Trim().ToLowerInvariant())
                {
                    case "on" or "true" or "yes": allowCleartext = true; break;
                    case "off" or "false" or "no": break;
                    default: Fail(path, $"{at}.auth.allow-cleartext: expected on or off, got \"{flag}\""); break;
                }
            }

            return new SmarthostAuth(user, password, allowCleartext);
        }
    }
}
