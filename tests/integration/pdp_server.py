#!/usr/bin/python3
"""A test AuthZEN policy decision point (a real HTTP server on loopback).

Usage: pdp_server.py PORT MODE_FILE LOG_FILE
Each evaluation reads MODE_FILE: permit | deny | error | slow | garbage, and
appends the request (headers + JSON body) as one line to LOG_FILE. No
discovery document (404), so the relay uses {pdp}/access/v1/evaluation.
"""
import http.server
import json
import sys
import time

PORT, MODE_FILE, LOG_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class PDP(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(404, json.dumps({"error": "not found"}))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(MODE_FILE) as f:
            mode = f.read().strip()
        with open(LOG_FILE, "a") as f:
            f.write(json.dumps({"path": self.path, "traceparent": self.headers.get("traceparent"),
                                "body": json.loads(body or b"{}")}) + "\n")
        if self.path != "/access/v1/evaluation":
            return self._send(404, json.dumps({"error": "not found"}))
        if mode == "permit":
            return self._send(200, json.dumps({"decision": True}))
        if mode == "deny":
            return self._send(200, json.dumps({"decision": False, "context": {
                "reason_user": {"en": "Outside your working hours", "nl": "Buiten uw werktijden"}}}))
        if mode == "slow":
            time.sleep(3)
            return self._send(200, json.dumps({"decision": True}))
        if mode == "garbage":
            return self._send(200, "not json")
        return self._send(500, json.dumps({"error": "internal"}))


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), PDP).serve_forever()
