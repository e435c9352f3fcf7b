using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorMta.Transport.Tls;

/// <summary>
/// The certificate a fresh install uses when none is configured: STARTTLS with an unverifiable
/// certificate still hides mail from passive listeners, which is what opportunistic TLS between
/// MTAs is for. Made once, kept in the data directory, and reused on every start until it is
/// close to expiry.
/// </summary>
public static class SelfSignedCertificate
{
    public const string CertificateFile = "selfsigned.crt";
    public const string KeyFile = "selfsigned.key";

    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(2 * 365);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    /// <summary>The paths of the certificate and key, and whether they were made just now.</summary>
    public static (string CertificatePath, string KeyPath, bool Created) LoadOrCreate(string folder, string hostname)
    {
        string certificatePath = Path.Combine(folder, CertificateFile);
        string keyPath = Path.Combine(folder, KeyFile);
        if (IsUsable(certificatePath, keyPath)) return (certificatePath, keyPath, false);

        Directory.CreateDirectory(folder);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256); // fast handshakes, accepted by every current TLS stack
        var request = new CertificateRequest(new X500DistinguishedName($"CN={hostname}"), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(hostname);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now + Lifetime);

        // The key first and private from its first byte; each file appears whole (rename), so a
        // crash never leaves a half-written one that the next start would refuse.
        WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteAtomically(certificatePath, certificate.ExportCertificatePem() + "\n",
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return (certificatePath, keyPath, true);
    }

    private static bool IsUsable(string certificatePath, string keyPath)
    {
        if (!File.Exists(certificatePath) || !File.Exists(keyPath)) return false;
        try
        {
            using var existing = PemCertificate.Load(certificatePath, keyPath);
            return existing.Leaf.NotAfter.ToUniversalTime() - DateTime.UtcNow > RenewBefore;
        }
        catch (TlsCertificateException)
        {
            return false; // damaged: make a new one rather than refuse to start
        }
    }

    private static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        string temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
