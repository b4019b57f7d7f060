#!/usr/bin/python3
"""A test AuthZEN policy decision point (a real HTTP server on loopback).

Usage: pdp_server.py PORT MODE_FILE LOG_FILE [--tls CERT KEY]
Each evaluation reads MODE_FILE:
  permit | deny | error | slow | garbage      the answer to any evaluation
  roles R1,R2                                  Access Evaluations: permit the
                                               evaluations whose action.properties.role
                                               is listed, deny the others
  wrong-request-id                             permit, under another X-Request-ID
  deny-naming-subject                          deny with a reason that names subject.id
and appends the request (path, traceparent and X-Request-ID headers, JSON
body) as one line to LOG_FILE. The answer echoes the X-Request-ID (AuthZEN
NL Gov §Request Identification). No discovery document (404), so the relay
uses {pdp}/access/v1/evaluation and /access/v1/evaluations. With --tls it
serves https (for the BSN, which the relay sends only over TLS).
"""
import http.server
import json
import ssl
import sys
import time

PORT, MODE_FILE, LOG_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
TLS = sys.argv[5:7] if len(sys.argv) >= 7 and sys.argv[4] == "--tls" else None


class PDP(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json", request_id=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if request_id:
            self.send_header("X-Request-ID", request_id)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(404, json.dumps({"error": "not found"}))

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.loads(raw or b"{}")
        with open(MODE_FILE) as f:
            mode = f.read().strip()
        rid = self.headers.get("X-Request-ID")
        with open(LOG_FILE, "a") as f:
            f.write(json.dumps({"path": self.path, "traceparent": self.headers.get("traceparent"),
                                "request_id": rid, "body": body}) + "\n")
        send = lambda status, answer, **kw: self._send(status, answer if isinstance(answer, str)
                                                        else json.dumps(answer), request_id=rid, **kw)
        if self.path == "/access/v1/evaluations":
            if mode.startswith("roles "):
                allowed = mode[6:].split(",")
                return send(200, {"evaluations": [
                    {"decision": e.get("action", {}).get("properties", {}).get("role") in allowed}
                    for e in body.get("evaluations", [])]})
            if mode in ("permit", "deny"):
                return send(200, {"evaluations": [{"decision": mode == "permit"}
                                                  for _ in body.get("evaluations", [])]})
        elif self.path != "/access/v1/evaluation":
            return self._send(404, json.dumps({"error": "not found"}))
        if mode == "permit" or mode.startswith("roles "):
            return send(200, {"decision": True})
        if mode == "deny":
            return send(200, {"decision": False, "context": {
                "reason_user": {"en": "Outside your working hours", "nl": "Buiten uw werktijden"}}})
        if mode == "deny-naming-subject":
            return send(200, {"decision": False, "context": {
                "reason_user": {"nl": "Patient %s heeft geen behandelrelatie" % body["subject"]["id"]}}})
        if mode == "wrong-request-id":
            return self._send(200, json.dumps({"decision": True}), request_id="another-request")
        if mode == "slow":
            time.sleep(3)
            return send(200, {"decision": True})
        if mode == "garbage":
            return send(200, "not json")
        return send(500, {"error": "internal"})


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), PDP)
if TLS:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS[0], TLS[1])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
