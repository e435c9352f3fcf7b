using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ActorMta.Auth;

/// <summary>
/// A salted password hash as stored in the users file:
/// <c>$pbkdf2-sha256$&lt;iterations&gt;$&lt;salt base64&gt;$&lt;hash base64&gt;</c>.
/// PBKDF2-HMAC-SHA256 comes from .NET (<see cref="Rfc2898DeriveBytes.Pbkdf2(byte[], byte[], int, HashAlgorithmName, int)"/>)
/// and the comparison is constant-time; nothing here is home-made cryptography. Each line carries
/// its own iteration count, so raising the default later does not invalidate existing users.
/// </summary>
public sealed class PasswordHash
{
    public const string Scheme = "pbkdf2-sha256";

    /// <summary>OWASP's figure for PBKDF2-HMAC-SHA256 (2023).</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Fewer iterations than this are refused when creating a hash (the file may hold anything that parses).</summary>
    public const int MinimumIterations = 1_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const int MaximumIterations = 100_000_000;

    private readonly byte[] _salt;
    private readonly byte[] _hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash)
    {
        Iterations = iterations;
        _salt = salt;
        _hash = hash;
    }

    public int Iterations { get; }

    /// <summary>A new hash of <paramref name="password"/> with a fresh random salt.</summary>
    public static PasswordHash Create(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaximumIterations);
        byte[] salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new PasswordHash(iterations, salt, Derive(password, salt, iterations, HashBytes));
    }

    /// <summary>Parses the stored form; on failure <paramref name="error"/> says what is wrong (never echoing the hash).</summary>
    public static bool TryParse(string text, out PasswordHash? hash, out string error)
    {
        hash = null;
        string[] parts = text.Split('$');
        // "$scheme$iterations$salt$hash" splits into "", scheme, iterations, salt, hash.
        if (parts.Length != 5 || parts[0].Length != 0)
        {
            error = $"expected $" + Scheme + "$<iterations>$<salt base64>$<hash base64>";
            return false;
        }

        if (parts[1] != Scheme)
        {
            error = $"unknown hash scheme \"{parts[1]}\" (expected {Scheme})";
            return false;
        }

        if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) || iterations < 1 || iterations > MaximumIterations)
        {
            error = $"iteration count must be a number from 1 to {MaximumIterations}, got \"{parts[2]}\"";
            return false;
        }

        byte[] salt, stored;
        try
        {
            salt = Convert.FromBase64String(parts[3]);
            stored = Convert.FromBase64String(parts[4]);
        }
        catch (FormatException)
        {
            error = "salt and hash must be base64";
            return false;
        }

        if (salt.Length < 8 || stored.Length < 16)
        {
            error = "salt must be at least 8 bytes and hash at least 16 bytes";
            return false;
        }

        hash = new PasswordHash(iterations, salt, stored);
        error = "";
        return true;
    }

    /// <summary>True when <paramref name="password"/> derives to the stored hash (constant-time comparison).</summary>
    public bool Verify(string password)
    {
        byte[] derived = Derive(password, _salt, Iterations, _hash.Length);
        return CryptographicOperations.FixedTimeEquals(derived, _hash);
    }

    public override string ToString() =>
        $"${Scheme}${Iterations.ToString(CultureInfo.InvariantCulture)}${Convert.ToBase64String(_salt)}${Convert.ToBase64String(_hash)}";

    private static byte[] Derive(string password, byte[] salt, int iterations, int length) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, length);
}
