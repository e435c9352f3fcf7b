// The peers (Exim, swaks) and the helpers (chown, kill, Unix file modes) are Debian's.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
