#!/usr/bin/python3
"""A loopback TCP port for one integration test: free now, and kept free of
the other tests and of outgoing connections for as long as the test runs.

Usage: free_port.py OWNER_DIR   (the test's $ZR_TMP; prints the port)

Why not bind(0): the kernel hands out a port from the ephemeral range, the
same range every outgoing connection (Redis clients, curl, the relay's
back channel) takes its source port from; between this script closing its
socket and the server binding it, any of them may take it ("cannot listen
on 127.0.0.1:N"). So the port is drawn at random from below the ephemeral
range (/proc/sys/net/ipv4/ip_local_port_range), and reserved with an atomic
mkdir under /tmp/zr-ports that names its owner: a concurrent test skips it;
a reservation whose owner directory is gone (a test that was killed) is
taken over. zr_cleanup releases the test's reservations.
"""
import os
import random
import socket
import sys

OWNER = os.path.abspath(sys.argv[1])
ROOT = "/tmp/zr-ports"


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def reserve(port):
    path = os.path.join(ROOT, str(port))
    try:
        os.mkdir(path)
    except FileExistsError:
        try:
            with open(os.path.join(path, "owner")) as f:
                owner = f.read().strip()
        except OSError:
            return False  # being reserved right now
        if os.path.isdir(owner):
            return False
        # A killed test's reservation: move it aside (atomic: of two tests
        # only one succeeds), remove it, and try once more.
        stale = "%s.stale.%d" % (path, os.getpid())
        try:
            os.rename(path, stale)
        except OSError:
            return False
        for name in os.listdir(stale):
            os.unlink(os.path.join(stale, name))
        os.rmdir(stale)
        return reserve(port)
    with open(os.path.join(path, "owner"), "w") as f:
        f.write(OWNER + "\n")
    return True


def main():
    if not os.path.isdir(ROOT):
        try:
            os.mkdir(ROOT)
            os.chmod(ROOT, 0o1777)  # shared by every user's tests, like /tmp
        except FileExistsError:
            pass
    high = min(ephemeral_low(), 65536) - 1
    low = max(1024, high - 12000)
    for _ in range(2000):
        port = random.randint(low, high)
        if not reserve(port):
            continue
        if bindable(port):
            print(port)
            return 0
        release(port)
    sys.stderr.write("free_port.py: no free port between %d and %d\n" % (low, high))
    return 1


def release(port):
    path = os.path.join(ROOT, str(port))
    try:
        os.unlink(os.path.join(path, "owner"))
        os.rmdir(path)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
