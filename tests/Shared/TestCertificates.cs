using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorMta.Tests.Shared;

/// <summary>
/// A throw-away certificate authority and leaf certificates signed by it, made fresh in each test
/// run so no key material lives in the repository. Linked into every test project that needs TLS.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(X509Certificate2 authority) => Authority = authority;

    /// <summary>The CA (with its private key). Clients that should verify trust only this.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>A new CA named <paramref name="name"/>, valid from an hour ago for a day.</summary>
    public static TestCertificates CreateAuthority(string name = "ActorMta Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return new TestCertificates(request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1)));
    }

    /// <summary>
    /// A server certificate for <paramref name="dnsNames"/> (first one is the CN) and the given IP
    /// addresses, signed by this CA, with its private key.
    /// </summary>
    public X509Certificate2 IssueServer(IEnumerable<string> dnsNames, IEnumerable<IPAddress>? addresses = null,
        DateTimeOffset? notAfter = null)
    {
        var names = dnsNames.ToList();
        if (names.Count == 0)
        {
            throw new ArgumentException("at least one DNS name is needed", nameof(dnsNames));
        }

        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in names)
        {
            san.AddDnsName(name);
        }

        foreach (var address in addresses ?? [])
        {
            san.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth

        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // positive
        // The CA's key is ECDSA and the leaf's RSA: CertificateRequest.Create(X509Certificate2, ...) refuses
        // mixed algorithms, so sign through the CA key's signature generator, naming the CA as issuer.
        using var caKey = Authority.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException("the CA has no ECDSA private key");
        using var issued = request.Create(Authority.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey),
            now.AddMinutes(-30), notAfter ?? now.AddHours(12), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Writes <paramref name="certificate"/> as PEM (<c>name.crt</c>, with the CA appended as the
    /// chain) and its key as PKCS#8 PEM (<c>name.key</c>) under <paramref name="directory"/>.
    /// Returns both paths, the shape operators configure.
    /// </summary>
    public (string CertificatePath, string KeyPath) WritePem(X509Certificate2 certificate, string directory, string name = "server")
    {
        Directory.CreateDirectory(directory);
        string certPath = Path.Combine(directory, name + ".crt");
        string keyPath = Path.Combine(directory, name + ".key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n" + Authority.ExportCertificatePem() + "\n");
        using var rsa = certificate.GetRSAPrivateKey();
        using var ecdsa = rsa is null ? certificate.GetECDsaPrivateKey() : null;
        AsymmetricAlgorithm privateKey = (AsymmetricAlgorithm?)rsa ?? ecdsa
            ?? throw new InvalidOperationException("the certificate has no private key");
        File.WriteAllText(keyPath, privateKey.ExportPkcs8PrivateKeyPem() + "\n");
        return (certPath, keyPath);
    }

    /// <summary>Writes the CA certificate as PEM (for peers such as Exim or swaks that verify).</summary>
    public string WriteAuthorityPem(string directory, string name = "ca")
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name + ".crt");
        File.WriteAllText(path, Authority.ExportCertificatePem() + "\n");
        return path;
    }

    /// <summary>True when <paramref name="certificate"/> chains to this CA alone (no system roots).</summary>
    public bool Trusts(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    public void Dispose() => Authority.Dispose();
}
