#!/usr/bin/env bash
# Issue 15 §4: tests/integration/adl_check.py, the ADL 1.0 validator every
# integration test runs on its decision log, can fail: it passes records
# of every shape the relay writes, and refuses each rule broken once, with
# FILE:LINE: reason.
source "$(dirname "$0")/lib.sh"
CHECK="$ZR_SOURCE_DIR/tests/integration/adl_check.py"

# Good records (one per shape the relay writes), then "name<TAB>reason<TAB>record"
# for each broken rule. The BSNs are test BSNs (11-proof, 9999 range).
$PY - "$ZR_TMP" <<'PYEOF'
import copy, json, sys
tmp = sys.argv[1]
HASH = "hmac-sha256:" + "A" * 43
BSN_T = "http://fhir.nl/fhir/NamingSystem/bsn"
request = {"subject": {"type": BSN_T, "id": HASH, "properties": {"loa": "substantial"}},
           "action": {"name": "login"}, "resource": {"type": "client", "id": "portal"},
           "context": {"time": "2026-12-06T10:00:00Z",
                       "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
def record(**kw):
    r = {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
         "parent_span_id": "00f067aa0ba902b7", "event_name": "adl.access_evaluation",
         "timestamp": 1796552400000, "status": "Ok",
         "attributes": {"adl.core.configuration": {"pdp": "https://pdp.example"},
                        "zorgrelay.authz.decision": "permit", "zorgrelay.authz.outcome": "allowed",
                        "zorgrelay.oidc.client_id": "portal", "zorgrelay.authz.request_id": "r-1"},
         "resource": {"service.name": "zorgrelay", "service.version": "1.0.0", "host.name": "relay-1"},
         "body": {"adl.core.request": copy.deepcopy(request), "adl.core.response": {"decision": True}}}
    r.update(kw)
    return r
good = [record()]
deny = record(); deny["attributes"].update({"zorgrelay.authz.decision": "deny", "zorgrelay.authz.outcome": "refused"})
deny["body"]["adl.core.response"] = {"decision": False, "context": {"reason": "not now"}}
good.append(deny)
err = record(status="Error"); err["attributes"].update({"zorgrelay.authz.decision": "error",
    "zorgrelay.authz.outcome": "allowed by fail_open", "zorgrelay.authz.error": "pdp: HTTP 500"})
del err["body"]["adl.core.response"]
good.append(err)
none = record(status="Error", body=None); del none["body"]; del none["parent_span_id"]
none["attributes"].update({"zorgrelay.authz.decision": "error", "zorgrelay.authz.outcome": "refused",
                           "zorgrelay.authz.error": "relay: cannot describe the subject"})
good.append(none)
omitted = record(); omitted["attributes"]["zorgrelay.adl.body_omitted"] = "personal data"
omitted["body"] = {"adl.core.response": {"decision": True}}
good.append(omitted)
batch = record(event_name="adl.access_evaluations")
batch["body"]["adl.core.request"] = {"subject": request["subject"], "resource": request["resource"],
    "evaluations": [{"action": {"name": "login"}}, {"action": {"name": "login", "properties": {"role": "arts"}}}]}
batch["body"]["adl.core.response"] = {"evaluations": [{"decision": True}, {"decision": False}]}
good.append(batch)
pro = record()  # a professional: a UZI number is 9 digits that may pass the 11-proof
pro["body"]["adl.core.request"]["subject"] = {"type": "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers",
                                              "id": "999990044"}
good.append(pro)
with open(tmp + "/good.jsonl", "w") as f:
    for r in good:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")

bad = []
def broken(name, reason, change):
    r = record()
    change(r)
    bad.append((name, reason, json.dumps(r, separators=(",", ":"))))
def set_(path, value):
    def f(r):
        o = r
        for k in path[:-1]:
            o = o[k]
        if value is KeyError:
            del o[path[-1]]
        else:
            o[path[-1]] = value
    return f
broken("trace_id missing", "trace_id missing", set_(["trace_id"], KeyError))
broken("span_id missing", "span_id missing", set_(["span_id"], KeyError))
broken("event_name missing", "event_name missing", set_(["event_name"], KeyError))
broken("timestamp missing", "timestamp missing", set_(["timestamp"], KeyError))
broken("status missing", "status missing", set_(["status"], KeyError))
broken("trace_id upper case", "trace_id is not 32", set_(["trace_id"], "0AF7651916CD43DD8448EB211C80319C"))
broken("trace_id all zero", "trace_id is not 32", set_(["trace_id"], "0" * 32))
broken("span_id too short", "span_id is not 16", set_(["span_id"], "b7ad6b716920333"))
broken("parent_span_id not hex", "parent_span_id is not 16", set_(["parent_span_id"], "zzzzzzzzzzzzzzzz"))
broken("event_name unknown", "event_name 'adl.login'", set_(["event_name"], "adl.login"))
broken("timestamp a string", "timestamp is not", set_(["timestamp"], "1796552400000"))
broken("timestamp negative", "timestamp is not", set_(["timestamp"], -1))
broken("timestamp in seconds as float", "timestamp is not", set_(["timestamp"], 1796552400.5))
broken("status unknown", "status 'OK'", set_(["status"], "OK"))
broken("a field outside the interface", "request: not a field", set_(["request"], {}))
broken("attributes not an object", "attributes is not an object", set_(["attributes"], []))
broken("an un-namespaced attribute", "'outcome' is not a lowercase", set_(["attributes", "outcome"], "allowed"))
broken("an upper-case attribute", "'zorgrelay.authz.Client' is not", set_(["attributes", "zorgrelay.authz.Client"], "x"))
broken("an adl attribute ADL does not define", "adl.core.decision is not an attribute",
       set_(["attributes", "adl.core.decision"], {"x": "y"}))
broken("adl.core.configuration inline, not an object", "adl.core.configuration is not an object",
       set_(["attributes", "adl.core.configuration"], "https://pdp.example"))
broken("the old body key", "body: request is not a key", set_(["body", "request"], request))
def both(r):
    r["attributes"]["adl.core.request"] = {"log": "span 1"}
broken("a field in body and attributes", "adl.core.request both in body and attributes", both)
def deny_error(r):
    r["status"] = "Error"
    r["attributes"]["zorgrelay.authz.decision"] = "deny"
    r["body"]["adl.core.response"] = {"decision": False}
broken("a deny as Error", "a deny reported as status Error", deny_error)
broken("a PDP error as Ok", "a PDP error reported as status Ok", set_(["attributes", "zorgrelay.authz.decision"], "error"))
broken("an unknown outcome", "zorgrelay.authz.outcome 'ok'", set_(["attributes", "zorgrelay.authz.outcome"], "ok"))
broken("Ok without a response", "status Ok without adl.core.response", set_(["body", "adl.core.response"], KeyError))
broken("response decision a string", "response.decision is not a boolean",
       set_(["body", "adl.core.response", "decision"], "true"))
broken("request without subject id", "request.subject.id", set_(["body", "adl.core.request", "subject", "id"], KeyError))
broken("request without action name", "request.action.name", set_(["body", "adl.core.request", "action"], {}))
broken("request without resource type", "request.resource.type",
       set_(["body", "adl.core.request", "resource", "type"], KeyError))
def batch_bad(r):
    r["event_name"] = "adl.access_evaluations"
    r["body"]["adl.core.response"] = {"evaluations": [{"decision": True}]}
broken("a batch without evaluations", "request.evaluations is not a non-empty array", batch_bad)
broken("resource without host.name", "resource.host.name missing", set_(["resource", "host.name"], KeyError))
broken("a BSN in clear in the request", "passes the BSN 11-proof",
       set_(["body", "adl.core.request", "subject", "id"], "999990044"))
broken("a BSN in clear in a reason", "passes the BSN 11-proof",
       set_(["body", "adl.core.response", "context"], {"reason": "bsn 999993653 unknown"}))
broken("a BSN as a member name", "passes the BSN 11-proof",
       set_(["body", "adl.core.response", "context"], {"999991772": True}))
with open(tmp + "/bad.tsv", "w") as f:
    for name, reason, line in bad:
        f.write("%s\t%s\t%s\n" % (name, reason, line))
PYEOF

out=$($PY "$CHECK" "$ZR_TMP/good.jsonl" 2>&1; echo "exit=$?")
zr_check "every shape the relay writes passes" "$out" "exit=0"
: > "$ZR_TMP/empty.jsonl"
zr_check "an empty log passes" "$($PY "$CHECK" "$ZR_TMP/empty.jsonl" 2>&1; echo "exit=$?")" "exit=0"
zr_check "no file named: usage, exit 2" "$($PY "$CHECK" 2>&1 >/dev/null | head -c 6; $PY "$CHECK" >/dev/null 2>&1; echo " exit=$?")" "usage: exit=2"

while IFS=$'\t' read -r name reason line; do
  { head -2 "$ZR_TMP/good.jsonl"; printf '%s\n' "$line"; tail -1 "$ZR_TMP/good.jsonl"; } > "$ZR_TMP/case.jsonl"
  set +e
  msg=$($PY "$CHECK" "$ZR_TMP/case.jsonl" 2>&1 >/dev/null)
  rc=$?
  set -e
  case "$msg" in
    "$ZR_TMP/case.jsonl:3: "*"$reason"*) where=ok ;;
    *) where="got: $msg" ;;
  esac
  zr_check "refused: $name (exit 1, FILE:LINE: reason)" "$rc $where $(grep -c . <<<"$msg")" "1 ok 1"
done < "$ZR_TMP/bad.tsv"

zr_check "refused: a line that is not JSON" \
  "$(printf '{"trace_id":\n' > "$ZR_TMP/nojson.jsonl"; $PY "$CHECK" "$ZR_TMP/nojson.jsonl" 2>&1 | cut -d: -f2-3; echo "exit=${PIPESTATUS[0]}")" \
  "1: not JSON
exit=1"
zr_check "the BSN is not repeated in the validator's message" \
  "$(grep 999990044 "$ZR_TMP/bad.tsv" | cut -f3 > "$ZR_TMP/bsn.jsonl"; $PY "$CHECK" "$ZR_TMP/bsn.jsonl" 2>&1 | grep -c 999990044 || true)" "0"
zr_done
