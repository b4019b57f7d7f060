#!/usr/bin/python3
"""Raw-socket client for the connection-limit tests (test_limits.sh,
test_limits_drain.sh): connections held open from chosen loopback addresses,
heads and bodies trickled, oversized targets and bodies.

Every wait is on an event (an answer, end-of-file, a log line) with a
generous bound for a busy machine; nothing asserts how long anything took.
Prints "CHECK|description|actual|expected" lines for zr_check.

Usage: limits_client.py SCENARIO PORT LOG [ARGS...]
"""
import socket
import sys
import time

BOUND = 60  # seconds: a bound for a wedged run, never an assertion


def check(desc, actual, expected):
    print("CHECK|%s|%s|%s" % (desc, actual, expected), flush=True)


def connect(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(BOUND)
    s.connect(("127.0.0.1", port))
    return s


def read_answer(s):
    """One HTTP answer (head + Content-Length body) -> (status, headers, body), or
    (None, reason, b"") when the server closed or reset the connection first."""
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return None, "closed", b""
            buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            d = s.recv(65536)
            if not d:
                break
            body += d
        return status, headers, body
    except ConnectionResetError:
        return None, "reset", b""
    except socket.timeout:
        return None, "timeout", b""


def closed_by_server(s):
    """Waits for end-of-file or a reset: True when the server ended it."""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def get(port, path="/healthz", source="127.0.0.1", headers=None, keep=False):
    s = connect(port, source)
    h = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" % (path, h)).encode())
    except (ConnectionResetError, BrokenPipeError):
        s.close()
        return (None, "reset", b""), None
    ans = read_answer(s)
    if keep and ans[0] is not None:
        return ans, s
    s.close()
    return ans, None


def wait_log(log, text, bound=BOUND):
    end = time.monotonic() + bound
    while time.monotonic() < end:
        with open(log, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.1)
    return False


def count_log(log, text):
    with open(log, errors="replace") as f:
        return f.read().count(text)


def until_answered(port, source, headers=None):
    """A released slot is free once the server has seen the close: try until
    answered (each refusal in between is counted, not logged)."""
    end = time.monotonic() + BOUND
    while time.monotonic() < end:
        (status, _, _), _ = get(port, source=source, headers=headers)
        if status is not None:
            return status
        time.sleep(0.1)
    return None


def scenario_caps(port, log):
    """limits: max_connections 16, max_connections_per_ip 4,
    trusted_proxies [127.0.0.1], header/body timeouts 300."""
    held = []
    # --- per address: 4 connections from 127.0.0.2, each admitted (answered, kept alive)
    for _ in range(4):
        (status, _, _), s = get(port, source="127.0.0.2", keep=True)
        held.append(s)
    check("4 connections from one address are served", status, 200)
    (status, why, _), _ = get(port, source="127.0.0.2")
    check("a 5th from that address is refused (closed, no answer)", status, None)
    (status, why, _), _ = get(port, source="127.0.0.2")
    check("a 6th too", status, None)
    check("the refusal is logged, naming the key",
          wait_log(log, "limits.max_connections_per_ip (4) reached by peer=127.0.0.2"), True)
    check("once for the episode", count_log(log, "limits.max_connections_per_ip (4) reached by peer="), 1)
    (status, _, _), _ = get(port, source="127.0.0.3")
    check("/healthz from another address is served meanwhile", status, 200)
    held.pop().close()
    check("after one is closed, that address is served again", until_answered(port, "127.0.0.2"), 200)
    for s in held:
        s.close()


def scenario_cap(port, log):
    """limits: max_connections 16, on a relay of its own (with_limits), so
    that no connection of another scenario the server has not seen closed
    yet counts against the cap: connections from several addresses (3
    each) until one is refused."""
    held = []
    refused_at = None
    for i in range(40):
        (status, _, _), s = get(port, source="127.0.1.%d" % (1 + i // 3), keep=True)
        if status is None:
            refused_at = i
            break
        held.append(s)
    check("connections beyond limits.max_connections are refused", refused_at is not None, True)
    check("no more than 16 were admitted", len(held) <= 16, True)
    (status, _, _), _ = get(port, source="127.0.2.1")
    check("at the cap, /healthz from a new address is refused too", status, None)
    check("the refusal is logged, naming the key", wait_log(log, "limits.max_connections (16) reached"), True)
    check("once for the episode", count_log(log, "limits.max_connections (16) reached"), 1)
    for s in held[:2]:
        s.close()
    check("after release /healthz is served again", until_answered(port, "127.0.2.1"), 200)
    for s in held[2:]:
        s.close()


def scenario_proxy(port, log):
    """Behind a trusted proxy (127.0.0.1): the client is X-Forwarded-For's
    rightmost untrusted hop, and the cap counts its requests in flight. A
    relay of its own (with_limits), so that no connection of another
    scenario the server has not seen closed yet counts against a cap."""
    held, answers = [], []
    for _ in range(4):
        s = connect(port, "127.0.0.1")
        s.sendall(b"POST /token HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 203.0.113.7\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        status, _, _ = read_answer(s)  # 100 Continue: the head is in, the request in flight
        answers.append(status)
        held.append(s)
    check("4 requests of one client behind the proxy are in flight", answers, [100, 100, 100, 100])
    (status, headers, _), _ = get(port, source="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.7"})
    check("a 5th request of that client gets 429", status, 429)
    check("the 429 carries Retry-After", "retry-after" in headers, True)
    check("the 429 is logged, naming the client",
          wait_log(log, "limits.max_connections_per_ip (4 requests in flight) reached by client=203.0.113.7"), True)
    (status, _, _), _ = get(port, source="127.0.0.1",
                            headers={"X-Forwarded-For": "203.0.113.7, 127.0.0.1"})
    check("a trusted hop on the right is skipped (the client is still 203.0.113.7)", status, 429)
    (status, _, _), _ = get(port, source="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.7, 203.0.113.8"})
    check("the rightmost untrusted hop is the client (203.0.113.8 is served)", status, 200)
    (status, _, _), _ = get(port, source="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.9"})
    check("another client behind the proxy is served", status, 200)
    (status, _, _), _ = get(port, source="127.0.0.5", headers={"X-Forwarded-For": "203.0.113.7"})
    check("X-Forwarded-For from a peer that is not a trusted proxy is ignored", status, 200)
    for s in held:
        s.close()


def trickle(s, data, every=0.2):
    """Sends data a byte at a time (each byte would reset an idle timeout)
    until the server ends the connection or BOUND passes."""
    end = time.monotonic() + BOUND
    s.setblocking(True)
    s.settimeout(every)
    i = 0
    while time.monotonic() < end:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            pass
        except ConnectionResetError:
            return True
        try:
            s.send(data[i % len(data):i % len(data) + 1])
        except (BrokenPipeError, ConnectionResetError):
            return True
        i += 1
    return False


def scenario_deadlines(port, log):
    """limits: header_timeout_s 2, body_timeout_s 2."""
    s = connect(port, "127.0.0.6")
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
    check("a request head trickled a byte at a time is cut by the server", trickle(s, b"X-Slow: abcdefgh\r\n"), True)
    check("the cut is logged, naming the key",
          wait_log(log, "was not complete within limits.header_timeout_s (2 s), peer=127.0.0.6"), True)
    s.close()
    s = connect(port, "127.0.0.7")
    s.sendall(b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              b"Content-Length: 100000\r\n\r\n")
    check("a body trickled a byte at a time is cut by the server", trickle(s, b"a"), True)
    check("the cut is logged, naming the key",
          wait_log(log, "was not complete within limits.body_timeout_s (2 s), peer=127.0.0.7"), True)
    s.close()
    (status, _, _), _ = get(port, source="127.0.0.6")
    check("the address is served normally afterwards", status, 200)


def scenario_sizes(port, log, max_body):
    # chunked body over max_body_bytes: a 413 answer, then the connection closes
    s = connect(port)
    s.sendall(b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"a" * 65536
    sent = 0
    try:
        while sent <= max_body + 65536:
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, headers, _ = read_answer(s)
    check("a chunked body over max_body_bytes gets 413", status, 413)
    check("and the connection is closed after it", closed_by_server(s), True)
    s.close()
    # a long request target: 414 at once (the answer arrives, the connection is not held)
    for n in (9000, 20000, 32400, 40000, 70000):
        s = connect(port)
        s.sendall(b"GET /healthz?pad=" + b"a" * n + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, headers, _ = read_answer(s)
        check("a %d-byte query gets 414" % n, status, 414)
        check("the connection is closed after the 414 (%d)" % n, closed_by_server(s), True)
        s.close()
    (status, _, _), _ = get(port, path="/healthz?pad=" + "a" * 4000)
    check("a 4000-byte query is still served", status, 200)


def scenario_retry_after(port, log):
    """Redis is stopped: every 503 carries Retry-After."""
    (status, headers, _), _ = get(port, path="/readyz")
    check("/readyz without Redis is 503", status, 503)
    check("with Retry-After", headers.get("retry-after"), "1")
    s = connect(port)
    body = (b"grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback"
            b"&code_verifier=" + b"v" * 43)
    s.sendall(b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              b"Authorization: Basic ZGVtby1wb3J0YWw6ZGVtby1wb3J0YWwtc2VjcmV0\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    status, headers, _ = read_answer(s)
    check("/token without Redis is 503", status, 503)
    check("with Retry-After", headers.get("retry-after"), "1")
    s.close()


def scenario_refused(port, log):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
        s.close()
        check("a new connection during the drain is refused", "connected", "refused")
    except ConnectionRefusedError:
        check("a new connection during the drain is refused", "refused", "refused")


def main():
    scenario, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if scenario == "caps":
        scenario_caps(port, log)
    elif scenario == "cap":
        scenario_cap(port, log)
    elif scenario == "proxy":
        scenario_proxy(port, log)
    elif scenario == "deadlines":
        scenario_deadlines(port, log)
    elif scenario == "sizes":
        scenario_sizes(port, log, int(sys.argv[4]))
    elif scenario == "retry-after":
        scenario_retry_after(port, log)
    elif scenario == "refused":
        scenario_refused(port, log)
    else:
        sys.exit("unknown scenario " + scenario)


if __name__ == "__main__":
    main()
