using System.CommandLine;
using System.Text;
using ActorMta.Auth;
using ActorMta.Configuration;

namespace ActorMta.Host;

/// <summary>
/// <c>actormta user add|remove|list</c>: the SMTP AUTH users file (<c>actormta.auth.users-file</c>,
/// or <c>--users-file</c>). Passwords are read without echo from the terminal, or as one line from
/// standard input (<c>--password-stdin</c>, or whenever standard input is not a terminal); they
/// never appear on the command line, where any local user could read them in the process list.
/// </summary>
internal static class UserCommands
{
    public static Command Build(Option<string?> configOption, Option<string[]> setOption, TextWriter stdout, TextWriter stderr)
    {
        var usersFileOption = new Option<string?>("--users-file")
        {
            Description = "Users file to change instead of actormta.auth.users-file.",
            HelpName = "FILE",
        };
        var passwordStdinOption = new Option<bool>("--password-stdin")
        {
            Description = "Read the password as one line from standard input instead of prompting.",
        };
        var nameArgument = new Argument<string>("NAME") { Description = "User name, as the client sends it in AUTH." };
        var removeName = new Argument<string>("NAME") { Description = "User to remove." };

        var add = new Command("add", "Add a user, or set the password of an existing one.")
        {
            nameArgument, usersFileOption, passwordStdinOption, configOption, setOption,
        };
        add.SetAction(result => Add(
            result.GetValue(nameArgument)!, Target(result.GetValue(usersFileOption), result.GetValue(configOption), result.GetValue(setOption), stderr),
            result.GetValue(passwordStdinOption), stdout, stderr));

        var remove = new Command("remove", "Remove a user.") { removeName, usersFileOption, configOption, setOption };
        remove.SetAction(result => Remove(
            result.GetValue(removeName)!, Target(result.GetValue(usersFileOption), result.GetValue(configOption), result.GetValue(setOption), stderr),
            stdout, stderr));

        var list = new Command("list", "List the user names.") { usersFileOption, configOption, setOption };
        list.SetAction(result => List(
            Target(result.GetValue(usersFileOption), result.GetValue(configOption), result.GetValue(setOption), stderr), stdout, stderr));

        return new Command("user", "Users for SMTP AUTH (the users file).") { add, remove, list };
    }

    /// <summary>The file and iteration count to use; null (errors printed) when the configuration is bad.</summary>
    private static (string File, int Iterations)? Target(string? usersFile, string? configFile, string[]? sets, TextWriter stderr)
    {
        LoadedConfiguration loaded;
        try
        {
            loaded = SettingsLoader.Load(configFile, sets ?? []);
        }
        catch (ConfigurationException e)
        {
            foreach (var error in e.Errors) stderr.WriteLine(error.ToString());
            stderr.WriteLine($"actormta: configuration has {e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}; nothing changed.");
            return null;
        }

        var auth = loaded.Settings.Auth;
        return (usersFile is null ? auth.UsersFile : Path.GetFullPath(usersFile), auth.PasswordIterations);
    }

    private static int Add(string name, (string File, int Iterations)? target, bool passwordStdin, TextWriter stdout, TextWriter stderr)
    {
        if (target is not { } t) return ExitCodes.BadUsage;
        if (UsersFile.CheckName(name) is { } bad) return Fail(stderr, bad);
        string? password = passwordStdin || Console.IsInputRedirected ? Console.In.ReadLine() : PromptTwice(stderr);
        if (password is null) return Fail(stderr, "no password given");
        if (password.Length == 0) return Fail(stderr, "the password is empty");
        return Guarded(stderr, () =>
        {
            bool added = UsersFile.Set(t.File, name, PasswordHash.Create(password, t.Iterations));
            stdout.WriteLine(added ? $"user {name} added to {t.File}" : $"password of {name} changed in {t.File}");
        });
    }

    private static int Remove(string name, (string File, int Iterations)? target, TextWriter stdout, TextWriter stderr)
    {
        if (target is not { } t) return ExitCodes.BadUsage;
        int code = ExitCodes.Ok;
        int result = Guarded(stderr, () =>
        {
            if (UsersFile.Remove(t.File, name)) stdout.WriteLine($"user {name} removed from {t.File}");
            else code = Fail(stderr, $"no user {name} in {t.File}");
        });
        return result != ExitCodes.Ok ? result : code;
    }

    private static int List((string File, int Iterations)? target, TextWriter stdout, TextWriter stderr)
    {
        if (target is not { } t) return ExitCodes.BadUsage;
        return Guarded(stderr, () =>
        {
            foreach (string name in UsersFile.Read(t.File).Keys.Order(StringComparer.Ordinal)) stdout.WriteLine(name);
        });
    }

    /// <summary>Runs a change; a bad users file or an I/O error is one line naming the file, exit 2 or 1.</summary>
    private static int Guarded(TextWriter stderr, Action change)
    {
        try
        {
            change();
            return ExitCodes.Ok;
        }
        catch (UsersFileException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"actormta: {e.Message}");
            return ExitCodes.RuntimeFailure;
        }
    }

    private static int Fail(TextWriter stderr, string why)
    {
        stderr.WriteLine($"actormta: {why}");
        return ExitCodes.BadUsage;
    }

    /// <summary>Asks twice on the terminal, without echo; null when the two differ.</summary>
    private static string? PromptTwice(TextWriter stderr)
    {
        string first = ReadHidden(stderr, "Password: ");
        string second = ReadHidden(stderr, "Again: ");
        if (first == second) return first;
        stderr.WriteLine("actormta: the two passwords differ");
        return null;
    }

    private static string ReadHidden(TextWriter stderr, string prompt)
    {
        stderr.Write(prompt);
        stderr.Flush();
        var text = new StringBuilder();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0) text.Length--;
                continue;
            }

            if (!char.IsControl(key.KeyChar)) text.Append(key.KeyChar);
        }

        stderr.WriteLine();
        return text.ToString();
    }
}
