#!/usr/bin/python3
"""Searches files for a personal number and for what would give it back.

For each VALUE (a BSN, a Dezi number, a URA) the needles are the value
itself and, for each of MD5, SHA-1 and SHA-256, the first 8 characters of
its hex digest and of its base64url digest (unpadded): a truncated unkeyed
hash of a value with few possibilities (a BSN has ~10^8) is the value
(issue 12 §1). Hex is matched in either case.

Usage: secrecy_scan.py --value V [--value V ...] PATH [PATH ...]
PATH is a file or a directory (searched recursively). Prints one line per
hit (which value by its index, which needle, which file) and exits with the
number of hits (capped at 100); 2 when a PATH is missing or nothing was read.
"""
import argparse
import base64
import hashlib
import os
import sys


def needles(value):
    """(kind, bytes, match in either case) for one value."""
    out = [("value", value.encode(), False)]
    for name in ("md5", "sha1", "sha256"):
        digest = hashlib.new(name, value.encode()).digest()
        out.append((name + "-hex", digest.hex()[:8].encode(), True))
        out.append((name + "-base64url", base64.urlsafe_b64encode(digest).rstrip(b"=")[:8], False))
    return out


def files_of(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    yield os.path.join(root, n)
        elif os.path.isfile(p):
            yield p
        else:
            print("secrecy_scan: no such file or directory: %s" % p, file=sys.stderr)
            sys.exit(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--value", action="append", required=True)
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    table = [(i, kind, n, ci) for i, v in enumerate(args.value) for kind, n, ci in needles(v)]
    hits = read = 0
    for path in files_of(args.paths):
        with open(path, "rb") as f:
            data = f.read()
        read += len(data)
        lower = data.lower()
        for i, kind, n, ci in table:
            if (lower if ci else data).find(n) >= 0:
                hits += 1
                print("value #%d (%s) found as %s in %s" % (i, args.value[i][:2] + "...", kind, path))
    if read == 0:
        print("secrecy_scan: nothing to search", file=sys.stderr)
        sys.exit(2)
    sys.exit(min(hits, 100))


if __name__ == "__main__":
    main()
