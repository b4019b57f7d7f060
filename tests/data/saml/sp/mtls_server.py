#!/usr/bin/python3
"""A tiny mutual-TLS SOAP endpoint standing in for TVS's artifact resolution
service in tests/unit/test_saml_artifact.c.

It requires a client certificate (CERT_REQUIRED, issued by --client-ca),
answers every POST according to --mode, and appends one JSON line per
request to --log: whether a client certificate was presented, the headers we
check and the body. It binds an ephemeral port on 127.0.0.1 and writes it to
--port-file once it listens.

Modes: ok (200, canned SOAP body), http500, big (a 2 MiB body), slow (waits
--delay seconds, then answers 200)."""
import argparse
import http.server
import json
import os
import ssl
import threading
import time

CANNED = (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
          b'<soapenv:Body><samlp:ArtifactResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
          b'ID="_canned" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"/></soapenv:Body>'
          b'</soapenv:Envelope>')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="ok", choices=["ok", "http500", "big", "slow"])
    ap.add_argument("--delay", type=float, default=2.0)
    args = ap.parse_args()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            peer = self.connection.getpeercert()
            entry = {
                "client_cert": bool(peer),
                "path": self.path,
                "content_type": self.headers.get("Content-Type"),
                "soap_action": self.headers.get("SOAPAction"),
                "body": body.decode("utf-8", "replace"),
            }
            with lock:
                with open(args.log, "a") as f:
                    f.write(json.dumps(entry) + "\n")
            if args.mode == "slow":
                time.sleep(args.delay)
            if args.mode == "http500":
                payload, status = b"<error/>", 500
            elif args.mode == "big":
                payload, status = b"x" * (2 * 1024 * 1024), 200
            else:
                payload, status = CANNED, 200
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.client_ca)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
