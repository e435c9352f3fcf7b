#!/usr/bin/env python3
"""A fixed-delay link between two network namespaces, in user space.

This kernel has no sch_netem, so `tc ... netem delay` is not available. Instead each namespace
gets a TUN device (layer 3, no packet-info header) and this process moves IP packets between
the two devices, holding every packet for exactly --delay-ms before writing it out on the other
side. Both directions get the same delay, so RTT = 2 x delay. The delay is constant, so a plain
FIFO per direction keeps packets in order (no reordering, no loss, no rate limit).

The TUN devices must already exist (persistent, created with `ip -n NS tuntap add mode tun name DEV`)
and be configured; this process attaches to them. It enters each namespace with setns(2) only to
open its device, since a TUN device is looked up by name in the caller's network namespace.

Usage: delay_relay.py NS_A:DEV_A NS_B:DEV_B --delay-ms 25
Stops on SIGTERM/SIGINT.
"""
import argparse
import collections
import ctypes
import fcntl
import os
import selectors
import signal
import struct
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MAX_PACKET = 65536

libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    """Move this (single-threaded) process into the network namespace at `path`."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(namespace, device):
    """Attach to the existing TUN device `device` inside `namespace`; returns a non-blocking fd."""
    setns(f"/var/run/netns/{namespace}")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    ifreq = struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifreq)
    return fd


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="NAMESPACE:DEVICE of one end")
    parser.add_argument("b", help="NAMESPACE:DEVICE of the other end")
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay (RTT is twice this)")
    args = parser.parse_args()
    delay = args.delay_ms / 1000.0

    home = "/proc/self/ns/net"
    home_fd = os.open(home, os.O_RDONLY)  # to come back after attaching (not strictly needed)
    fd_a = open_tun(*args.a.split(":", 1))
    fd_b = open_tun(*args.b.split(":", 1))
    libc.setns(home_fd, CLONE_NEWNET)
    os.close(home_fd)

    # For each input fd: where its packets go, and the FIFO of (due time, packet) for that direction.
    peer = {fd_a: fd_b, fd_b: fd_a}
    held = {fd_a: collections.deque(), fd_b: collections.deque()}

    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sel = selectors.DefaultSelector()
    sel.register(fd_a, selectors.EVENT_READ)
    sel.register(fd_b, selectors.EVENT_READ)
    print(f"relaying {args.a} <-> {args.b}, {args.delay_ms} ms each way", flush=True)

    while running:
        # Sleep until a packet arrives or the oldest held packet is due, whichever is first.
        now = time.monotonic()
        due = [q[0][0] for q in held.values() if q]
        timeout = max(0.0, min(due) - now) if due else 1.0
        try:
            events = sel.select(timeout)
        except InterruptedError:
            continue
        arrived = time.monotonic()
        for key, _ in events:
            fd = key.fd
            while True:  # drain everything the device has queued
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                held[fd].append((arrived + delay, packet))
        # Release every packet whose time has come, in arrival order.
        now = time.monotonic()
        for fd, queue in held.items():
            while queue and queue[0][0] <= now:
                _, packet = queue.popleft()
                try:
                    os.write(peer[fd], packet)
                except OSError:
                    pass  # the other side is down or its queue is full: the packet is lost, as on a wire

    os.close(fd_a)
    os.close(fd_b)


if __name__ == "__main__":
    main()
