namespace ActorMta.Configuration;

/// <summary>
/// <c>actormta.scheduling-policy</c>: the Linux CPU scheduling policy of the <c>actormta run</c>
/// process's threads. Elsewhere it changes nothing.
/// </summary>
public enum SchedulingPolicy
{
    /// <summary>
    /// SCHED_BATCH: a thread the kernel wakes (a socket read, a finished fsync) waits for the running
    /// thread's time slice instead of preempting it. An MTA trades microseconds of latency for
    /// throughput gladly; the README's Performance section has what it measured.
    /// </summary>
    Batch,

    /// <summary>SCHED_OTHER, the kernel's default for every process.</summary>
    Normal,

    /// <summary>Left as the process was started (by <c>chrt</c>, or systemd's CPUSchedulingPolicy=).</summary>
    Inherit,
}
