#!/usr/bin/python3
"""Checks every line of an Authorization Decision Log against Logius ADL 1.0
(authorization-decision-log, sections/specifications.md) as zorgrelay writes
it (docs/authorization.md#the-decision-log).

usage: adl_check.py FILE...
Exit 0 when every line of every FILE is a conformant record (an empty file
is fine); else exit 1 with one "FILE:LINE: reason" per bad line on stderr.
Python 3 standard library only."""
import json
import re
import sys

HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
# ADL §event_name: the five conformant values.
EVENT_NAMES = {"adl.access_evaluation", "adl.access_evaluations", "adl.search_subject",
               "adl.search_action", "adl.search_resource"}
# ADL §status.
STATUSES = {"Unset", "Ok", "Error"}
# ADL §body: the keys a body may hold.
BODY_KEYS = {"adl.core.request", "adl.core.response", "adl.core.policies", "adl.core.information",
             "adl.core.configuration"}
# ADL §attributes: the adl.* attributes the standard defines, with their type.
ADL_ATTRIBUTES = {k: dict for k in BODY_KEYS}
ADL_ATTRIBUTES["adl.fsc.transaction_id"] = str
# ADL §attributes: other keys lowercase, dot-separated, namespaced.
NAMESPACED = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
UINT64_MAX = 2 ** 64 - 1
# What zorgrelay writes (docs/authorization.md).
DECISIONS = {"permit", "deny", "error"}
OUTCOMES = {"allowed", "refused", "allowed by fail_open"}
UZI_TYPE = "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"
# Trace and span ids, traceparents and X-Request-IDs (UUIDs): random hex,
# not numbers (a run of nine digits inside one is no BSN).
HEX_TOKENS = re.compile(r"(?<![0-9a-f])(?:00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}|[0-9a-f]{32}|[0-9a-f]{16}"
                        r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9a-f])")
NINE_DIGITS = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")


def eleven_proof(digits):
    """The BSN 11-proof (elfproef): 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 = 0 mod 11."""
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 == 0 and digits != "000000000"


def uzi_numbers(node, found):
    """The ids of subjects typed as UZI numbers: a professional's number,
    9 digits that may pass the 11-proof without being a BSN."""
    if isinstance(node, dict):
        if node.get("type") == UZI_TYPE and isinstance(node.get("id"), str):
            found.add(node["id"])
        for v in node.values():
            uzi_numbers(v, found)
    elif isinstance(node, list):
        for v in node:
            uzi_numbers(v, found)
    return found


def bsn_in(line, record):
    text = HEX_TOKENS.sub(" ", line)
    allowed = uzi_numbers(record, set())
    for m in NINE_DIGITS.finditer(text):
        if eleven_proof(m.group(0)) and m.group(0) not in allowed:
            return m.group(0)
    return None


def entity(obj, where, name_key):
    """subject/resource {type, id} or action {name}: problems, if any."""
    if not isinstance(obj, dict):
        return ["%s is not an object" % where]
    keys = ("type", "id") if name_key is None else (name_key,)
    return ["%s.%s is not a non-empty string" % (where, k) for k in keys
            if not isinstance(obj.get(k), str) or not obj[k]]


def request_problems(req, event):
    """The AuthZEN shape (Access Evaluation API §6; Access Evaluations API
    §7: each evaluation completed by the top-level defaults)."""
    if not isinstance(req, dict):
        return ["body.adl.core.request is not an object"]
    parts = (("subject", None), ("action", "name"), ("resource", None))
    if event == "adl.access_evaluations":
        evals = req.get("evaluations")
        if not isinstance(evals, list) or not evals:
            return ["adl.access_evaluations: request.evaluations is not a non-empty array"]
        out = []
        for i, e in enumerate(evals):
            if not isinstance(e, dict):
                out.append("request.evaluations[%d] is not an object" % i)
                continue
            for part, name_key in parts:
                out += entity(e.get(part, req.get(part)), "request.evaluations[%d].%s" % (i, part), name_key)
        return out
    if event == "adl.access_evaluation":
        out = []
        for part, name_key in parts:
            out += entity(req.get(part), "request." + part, name_key)
        return out
    return []


def response_problems(resp, event):
    if not isinstance(resp, dict):
        return ["body.adl.core.response is not an object"]
    if event == "adl.access_evaluation" and not isinstance(resp.get("decision"), bool):
        return ["response.decision is not a boolean"]
    if event == "adl.access_evaluations":
        evals = resp.get("evaluations")
        if not isinstance(evals, list) or not all(isinstance(e, dict) and isinstance(e.get("decision"), bool)
                                                  for e in evals):
            return ["response.evaluations is not an array of {decision: boolean}"]
    return []


def record_problems(line):
    try:
        rec = json.loads(line)
    except ValueError as e:
        return ["not JSON: %s" % e] + (["a 9-digit number that passes the BSN 11-proof"] if bsn_in(line, None) else [])
    if not isinstance(rec, dict):
        return ["not a JSON object"]
    out = []
    # Interface: mandatory fields and their types.
    for key in ("trace_id", "span_id", "event_name", "timestamp", "status"):
        if key not in rec:
            out.append("%s missing (mandatory)" % key)
    known = {"trace_id", "span_id", "parent_span_id", "event_name", "timestamp", "status", "attributes",
             "resource", "body"}
    out += ["%s: not a field of the ADL interface" % k for k in rec if k not in known]
    if "trace_id" in rec and (not isinstance(rec["trace_id"], str) or not HEX32.fullmatch(rec["trace_id"])
                              or set(rec["trace_id"]) == {"0"}):
        out.append("trace_id is not 32 lowercase hex characters (not all zero)")
    for key in ("span_id", "parent_span_id"):
        if key in rec and (not isinstance(rec[key], str) or not HEX16.fullmatch(rec[key])
                           or set(rec[key]) == {"0"}):
            out.append("%s is not 16 lowercase hex characters (not all zero)" % key)
    event = rec.get("event_name")
    if "event_name" in rec and event not in EVENT_NAMES:
        out.append("event_name %r is not one of %s" % (event, ", ".join(sorted(EVENT_NAMES))))
    ts = rec.get("timestamp")
    if "timestamp" in rec and (not isinstance(ts, int) or isinstance(ts, bool) or ts < 0 or ts > UINT64_MAX):
        out.append("timestamp is not an unsigned 64-bit integer (ms since the epoch)")
    status = rec.get("status")
    if "status" in rec and status not in STATUSES:
        out.append("status %r is not Unset, Ok or Error" % (status,))
    for key in ("attributes", "resource", "body"):
        if key in rec and not isinstance(rec[key], dict):
            out.append("%s is not an object" % key)
    attrs = rec.get("attributes") if isinstance(rec.get("attributes"), dict) else {}
    body = rec.get("body") if isinstance(rec.get("body"), dict) else {}
    resource = rec.get("resource") if isinstance(rec.get("resource"), dict) else {}

    # attributes: adl.* only as defined (source references), others namespaced.
    for key, value in attrs.items():
        if key.startswith("adl."):
            if key not in ADL_ATTRIBUTES:
                out.append("attributes: %s is not an attribute ADL 1.0 defines" % key)
            elif not isinstance(value, ADL_ATTRIBUTES[key]):
                out.append("attributes: %s is not a%s" % (key, "n object" if ADL_ATTRIBUTES[key] is dict
                                                          else " string"))
        elif not NAMESPACED.match(key):
            out.append("attributes: %r is not a lowercase, dot-separated, namespaced key" % key)
    # body: adl.core.* only; a field in body XOR attributes.
    out += ["body: %s is not a key ADL 1.0 defines" % k for k in body if k not in BODY_KEYS]
    out += ["%s both in body and attributes" % k for k in body if k in attrs]

    # status: a deny is an outcome of evaluation, never Error.
    decision = attrs.get("zorgrelay.authz.decision")
    if decision is not None and decision not in DECISIONS:
        out.append("zorgrelay.authz.decision %r is not permit, deny or error" % (decision,))
    if decision == "deny" and status == "Error":
        out.append("a deny reported as status Error")
    if decision == "error" and status in ("Unset", "Ok"):
        out.append("a PDP error reported as status %s" % status)
    outcome = attrs.get("zorgrelay.authz.outcome")
    if outcome is not None and outcome not in OUTCOMES:
        out.append("zorgrelay.authz.outcome %r is not one of %s" % (outcome, ", ".join(sorted(OUTCOMES))))
    # adl.core.response: retrievable when the PDP completed its evaluation.
    if status in ("Unset", "Ok") and "adl.core.response" not in body and "adl.core.response" not in attrs:
        out.append("status %s without adl.core.response (in body or attributes)" % status)
    if "adl.core.request" in body:
        out += request_problems(body["adl.core.request"], event)
    if "adl.core.response" in body:
        out += response_problems(body["adl.core.response"], event)
    # resource: attributable to its producer.
    for key in ("service.name", "service.version", "host.name"):
        if not isinstance(resource.get(key), str) or not resource.get(key):
            out.append("resource.%s missing" % key)
    # No BSN in clear, anywhere in the line (the number itself is not shown).
    if bsn_in(line, rec):
        out.append("a 9-digit number that passes the BSN 11-proof")
    return out


def main(paths):
    if not paths:
        print("usage: adl_check.py FILE...", file=sys.stderr)
        return 2
    bad = 0
    for path in paths:
        try:
            lines = open(path, encoding="utf-8").read().split("\n")
        except (OSError, UnicodeDecodeError) as e:
            print("%s: cannot read: %s" % (path, e), file=sys.stderr)
            bad += 1
            continue
        if lines and lines[-1] == "":
            lines.pop()
        for n, line in enumerate(lines, 1):
            problems = record_problems(line)
            if problems:
                bad += 1
                print("%s:%d: %s" % (path, n, "; ".join(problems)), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
