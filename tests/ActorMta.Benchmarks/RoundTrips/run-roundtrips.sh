#!/usr/bin/env bash
# Round-trip benchmark: ActorMta and Exim over a link with a fixed delay. Needs root, python3,
# exim4-daemon-heavy and the .NET SDK. See README.md in this folder.
#
#   sudo tests/ActorMta.Benchmarks/RoundTrips/run-roundtrips.sh [--messages N] [--only actormta|exim] [--tls on|off|only]
#
# Environment: DELAY_MS (one way, default 25 => RTT 50 ms), NS_PREFIX (default rtt),
# BENCH_NICE (niceness of the benchmark and the servers it starts, default -10: on a shared,
# busy machine CPU queueing otherwise adds tens of milliseconds per message; 0 to turn off),
# ACTORMTA_ARTIFACTS (build output, as for every dotnet command in this repository).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
delay_ms="${DELAY_MS:-25}"
prefix="${NS_PREFIX:-rtt}"
ns_a="$prefix-a"; ns_b="$prefix-b"          # client side, server side
dev_a="${prefix}a0"; dev_b="${prefix}b0"     # TUN devices, one per namespace
ip_a=10.210.0.1; ip_b=10.210.0.2
relay_pid=""; bench_pid=""; run_tmp=""

[[ $(id -u) == 0 ]] || { echo "run as root (network namespaces, exim -C)" >&2; exit 2; }

cleanup() {
  set +e
  [[ -n "$bench_pid" ]] && kill "$bench_pid" 2>/dev/null
  # Anything still running inside our namespaces was started by this script (servers, Exim children).
  for ns in "$ns_a" "$ns_b"; do
    if ip netns list | grep -qw "$ns"; then
      pids=$(ip netns pids "$ns" 2>/dev/null)
      [[ -n "$pids" ]] && kill $pids 2>/dev/null
    fi
  done
  sleep 1
  for ns in "$ns_a" "$ns_b"; do
    if ip netns list | grep -qw "$ns"; then
      pids=$(ip netns pids "$ns" 2>/dev/null)
      [[ -n "$pids" ]] && kill -9 $pids 2>/dev/null
    fi
  done
  [[ -n "$relay_pid" ]] && kill "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  [[ -n "$run_tmp" ]] && rm -rf "$run_tmp"
}
trap cleanup EXIT INT TERM

# 1. Build (Release) and find the benchmark assembly.
echo "building ActorMta.Benchmarks (Release)..." >&2
dotnet build "$repo/tests/ActorMta.Benchmarks" -c Release -v q -nologo >&2
if [[ -n "${ACTORMTA_ARTIFACTS:-}" ]]; then
  dll="$ACTORMTA_ARTIFACTS/bin/ActorMta.Benchmarks/release/ActorMta.Benchmarks.dll"
else
  dll="$repo/tests/ActorMta.Benchmarks/bin/Release/net10.0/ActorMta.Benchmarks.dll"
fi
[[ -f "$dll" ]] || { echo "not found: $dll" >&2; exit 1; }

# 2. Two namespaces, each with a persistent TUN device, point to point.
for ns in "$ns_a" "$ns_b"; do
  if ip netns list | grep -qw "$ns"; then echo "namespace $ns exists already; remove it or set NS_PREFIX" >&2; trap - EXIT; exit 1; fi
done
ip netns add "$ns_a"; ip netns add "$ns_b"
ip -n "$ns_a" link set lo up; ip -n "$ns_b" link set lo up
ip -n "$ns_a" tuntap add mode tun name "$dev_a"
ip -n "$ns_b" tuntap add mode tun name "$dev_b"
ip -n "$ns_a" addr add "$ip_a" peer "$ip_b" dev "$dev_a"
ip -n "$ns_b" addr add "$ip_b" peer "$ip_a" dev "$dev_b"
ip -n "$ns_a" link set "$dev_a" up
ip -n "$ns_b" link set "$dev_b" up
# TCP Fast Open on both ends (client bit 1, server bit 2) for the TFO rows; each namespace has its own setting.
ip netns exec "$ns_a" sysctl -qw net.ipv4.tcp_fastopen=3
ip netns exec "$ns_b" sysctl -qw net.ipv4.tcp_fastopen=3

# 3. The delay: a user-space relay between the two TUN devices (no sch_netem on this kernel).
#    Real-time priority (SCHED_FIFO) so that a busy machine does not add its scheduling delays to
#    the link; the relay uses little CPU.
chrt -f 20 python3 "$here/delay_relay.py" "$ns_a:$dev_a" "$ns_b:$dev_b" --delay-ms "$delay_ms" &
relay_pid=$!
sleep 0.5
kill -0 "$relay_pid" || { echo "delay relay did not start" >&2; exit 1; }

# 4. Scratch folders (spools, Exim instances) under one folder of this run, removed by the trap
#    even when the benchmark is killed. Exim's processes run as Debian-exim: it must be traversable.
run_tmp="$(mktemp -d /tmp/actormta-rtt-run.XXXXXX)"
chmod 755 "$run_tmp"
export TMPDIR="$run_tmp"

# 5. The benchmark runs in the client namespace and starts its servers in the server namespace.
rtt_ms=$(python3 -c "print(2*float('$delay_ms'))")
nice -n "${BENCH_NICE:--10}" ip netns exec "$ns_a" dotnet "$dll" roundtrips \
  --server-ns "$ns_b" --server-ip "$ip_b" --rtt-ms "$rtt_ms" "$@" &
bench_pid=$!
wait "$bench_pid"
status=$?
bench_pid=""
exit $status
