#!/usr/bin/python3
"""Checks an operator log written with log_format: json (issue 16 §3).

Every line must be one JSON object (no duplicate keys) with ts (RFC 3339,
UTC, milliseconds), level (debug|info|warn|error), component, event and
message as strings, every other member a string that the message shows as
key=value or key="value" (the fields are the message's own), and a member
for every key=value token of the message. A journald "<N>" prefix is not
expected (stderr is a file here).

Usage: logs_check.py COMPONENT FILE
Prints FILE:LINE: reason for each bad line, then "N lines" on success;
exits with the number of bad lines (capped at 100), 2 when FILE is empty.
"""
import json
import re
import sys

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
RESERVED = ("ts", "level", "component", "event", "message")
# A key=value token of the message: a key the relay writes is [a-z][a-z0-9_.]*
TOKEN = re.compile(r'(?:^|[\s(])([a-z][a-z0-9_.]*)=')


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def check(component, line):
    try:
        d = json.loads(line, object_pairs_hook=no_duplicates)
    except ValueError as e:
        return "not JSON: %s" % e
    if not isinstance(d, dict):
        return "not an object"
    for k in RESERVED:
        if not isinstance(d.get(k), str):
            return "%s missing or not a string" % k
    if not TS.match(d["ts"]):
        return "ts not RFC 3339 UTC with milliseconds: %r" % d["ts"]
    if d["level"] not in ("debug", "info", "warn", "error"):
        return "level %r" % d["level"]
    if d["component"] != component:
        return "component %r, expected %r" % (d["component"], component)
    msg = d["message"]
    for k, v in d.items():
        if k in RESERVED:
            continue
        if not isinstance(v, str):
            return "field %s not a string" % k
        name = k[len("field_"):] if k.startswith("field_") and k[len("field_"):] in RESERVED else k
        if ("%s=%s" % (name, v)) not in msg and ('%s="%s"' % (name, v)) not in msg:
            return "field %s=%r is not in the message %r" % (k, v, msg)
    for m in TOKEN.finditer(msg):
        name = m.group(1)
        key = "field_" + name if name in RESERVED else name
        # A key the format names is a member; one inside a value (quoted,
        # or after the first) need not be.
        if key not in d and not any(("%s=" % name) in str(v) for kk, v in d.items() if kk not in RESERVED):
            return "key %s of the message has no member: %r" % (name, msg)
    return None


def main():
    component, path = sys.argv[1], sys.argv[2]
    bad = n = 0
    with open(path, "rb") as f:
        for i, raw in enumerate(f, 1):
            n += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                why = "not UTF-8"
            else:
                why = check(component, line.rstrip("\n")) if line.endswith("\n") else "no newline at the end"
            if why:
                bad += 1
                print("%s:%d: %s" % (path, i, why))
    if n == 0:
        print("%s: empty" % path)
        return 2
    if not bad:
        print("%d lines" % n)
    return min(bad, 100)


if __name__ == "__main__":
    sys.exit(main())
