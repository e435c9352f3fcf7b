using System.Collections;
using System.Runtime.InteropServices;
using ActorMta.Configuration;

namespace ActorMta.Host;

/// <summary>
/// Runs <c>actormta run</c> under the configured Linux scheduling policy
/// (<c>actormta.scheduling-policy</c>, SCHED_BATCH by default).
/// </summary>
/// <remarks>
/// <para><b>Why batch.</b> Each SMTP round trip wakes several threads in turn: the socket engine's
/// epoll thread, a thread-pool worker for the session actor, the spool log's I/O thread. Under the
/// normal policy every one of those wake-ups preempts whatever runs on that core (often another
/// worker in the middle of a session), and on a virtual machine each switch also pays the
/// hypervisor. A SCHED_BATCH thread that wakes waits for the running thread to block or use up its
/// slice instead. Measured with the inbound benchmark (README, Performance). The price is latency
/// of the order of a scheduler slice when the machine is saturated, which SMTP does not notice.</para>
/// <para><b>Why a re-exec.</b> The policy is per thread, and a new thread takes its creator's.
/// Setting it on the threads that existed was not enough: the spool's I/O threads, made at the
/// first message, came out SCHED_OTHER by /proc while every other thread showed SCHED_BATCH. (A
/// small program doing the same inherits the policy fine; the cause in the MTA was not found.)
/// So the main thread switches policy and execs the same command line again: the new image starts
/// with the policy, exactly as under <c>chrt --batch 0</c>, and every thread it ever makes has it.
/// The second image finds the policy already set and goes on. Lowering to SCHED_BATCH, or to
/// SCHED_OTHER from it, needs no privilege.</para>
/// </remarks>
internal static class ThreadScheduling
{
    private const int SchedOther = 0;
    private const int SchedBatch = 3;

    /// <summary>
    /// Ensures the process runs under <paramref name="policy"/>: returns at once when it already
    /// does (or inherit, or not Linux); otherwise re-execs the program and does not return, unless
    /// that fails.
    /// </summary>
    /// <returns>Null, or why the policy could not be applied (for the main log; the MTA runs on).</returns>
    public static string? Ensure(SchedulingPolicy policy)
    {
        if (policy == SchedulingPolicy.Inherit || !OperatingSystem.IsLinux()) return null;
        int wanted = policy == SchedulingPolicy.Batch ? SchedBatch : SchedOther;
        int current = sched_getscheduler(0);
        if (current == wanted) return null;
        if (current is not (SchedOther or SchedBatch))
        {
            // A real-time or idle policy was chosen by whoever started us; leave it alone.
            return $"the process runs under scheduling policy {current}, which is left as it is";
        }

        int priority = 0; // struct sched_param is one int; 0 is the only priority these policies take
        if (sched_setscheduler(0, wanted, ref priority) != 0)
            return $"sched_setscheduler failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";

        string?[] argv;
        try
        {
            argv = [.. ProcessCommandLine.Read(), null];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Revert(current);
            return $"cannot read /proc/self/cmdline to restart under the policy: {e.Message}";
        }

        // .NET keeps its own copy of the environment, so it is passed explicitly.
        var environment = new List<string?>();
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
            environment.Add($"{variable.Key}={variable.Value}");
        environment.Add(null);

        Console.Out.Flush();
        Console.Error.Flush();
        bool diagnosticsRemoved = RemoveDiagnosticsSocket();
        // The real path, not /proc/self/exe: the process name (ps, top, pgrep) comes from it.
        execve(Environment.ProcessPath ?? "/proc/self/exe", argv, [.. environment]);
        // Only reached when the exec failed; this image goes on under its old policy.
        string why = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
        Revert(current);
        return $"cannot restart under the policy (execve: {why})" +
            (diagnosticsRemoved ? "; dotnet-counters, dotnet-trace and dotnet-dump cannot attach to this process" : "");
    }

    /// <summary>
    /// Deletes this process's .NET diagnostics socket, which dotnet-counters, dotnet-trace and
    /// dotnet-dump connect to: <c>dotnet-diagnostic-PID-STARTTIME-socket</c> in the temporary
    /// folder, named by the runtime after the pid and the start time of /proc/self/stat (field 22).
    /// An exec keeps both: left in place, the file stops the new image's runtime from listening
    /// under that name, and every such tool then finds a socket that nobody answers. Returns
    /// whether there was one.
    /// </summary>
    private static bool RemoveDiagnosticsSocket()
    {
        try
        {
            string? socket = DiagnosticsSocketPath(Environment.ProcessId);
            if (socket is null || !File.Exists(socket)) return false; // diagnostics off (DOTNET_EnableDiagnostics=0)
            File.Delete(socket);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable or not ours to delete: the restart goes on; only the tools are affected.
            return false;
        }
    }

    /// <summary>
    /// Where the .NET runtime of process <paramref name="pid"/> listens for diagnostics tools. The
    /// start time is part of the name because pids are reused: a socket file a killed process left
    /// may carry the same pid. Null if the process's stat cannot be parsed.
    /// </summary>
    /// <exception cref="IOException">The process's /proc entry cannot be read (it ended).</exception>
    internal static string? DiagnosticsSocketPath(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // "pid (name) state ..." where the name may hold spaces: count fields after the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length <= 22 - 3) return null;
        return Path.Combine(Path.GetTempPath(), $"dotnet-diagnostic-{pid}-{fields[22 - 3]}-socket");
    }

    private static void Revert(int policy)
    {
        int priority = 0;
        sched_setscheduler(0, policy, ref priority);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int sched_getscheduler(int pid);

    [DllImport("libc", SetLastError = true)]
    private static extern int sched_setscheduler(int pid, int policy, ref int param);

    [DllImport("libc", SetLastError = true)]
    private static extern int execve(string path, string?[] argv, string?[] envp);
}
