#!/usr/bin/python3
"""Example portal: a small relying party built on Authlib (Debian's
python3-authlib), showing how a healthcare portal connects to zorgrelay.

    /usr/bin/python3 examples/portal/portal.py --issuer http://localhost:8080 \
        --client-id demo-portal --client-secret demo-portal-secret --port 8000

Open http://localhost:8000 and click "Inloggen met DigiD"; once logged in,
"Uitloggen / Log out" logs out at the relay (and TVS) and comes back here.
"""
import argparse
import html
import http.server
import json
import secrets
import urllib.parse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

# cookie value -> {state, nonce, verifier} during a login, then {id_token,
# logout_state} while logged in (demo only: one process, in memory)
SESSIONS = {}

PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<title>Demo patientportaal</title><style>
body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2a3a}}
a.button,button{{display:inline-block;background:#154273;color:#fff;padding:.7rem 1.2rem;border-radius:.3rem;
text-decoration:none;border:0;font-size:1rem;cursor:pointer}} a.button:focus,button:focus{{outline:3px solid #e17000;
outline-offset:2px}} pre{{background:#f3f5f8;padding:1rem;overflow:auto}}
.note{{color:#555;font-size:.9rem}}</style></head><body>
<main><h1>Demo patientportaal</h1>{body}</main>
<footer><p class="note">Voorbeeldportaal van zorgrelay (TEST). Geen echte gegevens.</p></footer></body></html>"""


class Portal(http.server.BaseHTTPRequestHandler):
    cfg = None

    def log_message(self, fmt, *args):  # keep codes out of the console
        pass

    def client(self):
        c = self.cfg
        return OAuth2Session(c.client_id, c.client_secret, scope="openid", redirect_uri=c.redirect_uri,
                             code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")

    def send_page(self, body, status=200, headers=()):
        data = PAGE.format(body=body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/" and "state" in dict(urllib.parse.parse_qsl(url.query)):
            self.logged_out(url)
        elif url.path == "/":
            self.send_page('<p>Log in om uw gegevens te zien.</p><p><a class="button" href="/login">'
                           'Inloggen met DigiD</a> <a class="button" href="/login?method=professional">'
                           'Inloggen als zorgverlener</a> <a class="button" href="/login?method=choose">'
                           'Laat de relay vragen</a></p>')
        elif url.path == "/login":
            verifier = secrets.token_urlsafe(48)
            nonce = secrets.token_urlsafe(16)
            # The relay asks patient or professional unless login_method says it.
            method = dict(urllib.parse.parse_qsl(url.query)).get("method", "patient")
            extra = {"login_method": method} if method in ("patient", "professional") else {}
            # The person's language, when the portal knows it (OIDC Core §3.1.2.1).
            ui_locales = dict(urllib.parse.parse_qsl(url.query)).get("ui_locales")
            if ui_locales:
                extra["ui_locales"] = ui_locales
            auth_url, state = self.client().create_authorization_url(self.cfg.disco["authorization_endpoint"],
                                                                     code_verifier=verifier, nonce=nonce, **extra)
            sid = secrets.token_urlsafe(24)
            SESSIONS[sid] = {"state": state, "nonce": nonce, "verifier": verifier}
            self.send_response(302)
            self.send_header("Location", auth_url)
            self.send_header("Set-Cookie", f"portal_sid={sid}; HttpOnly; SameSite=Lax; Path=/")
            self.end_headers()
        elif url.path == "/callback":
            self.callback(url)
        else:
            self.send_page("<p>Niet gevonden.</p>", 404)

    def cookie_session(self, pop=False):
        cookies = dict(c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c)
        sid = cookies.get("portal_sid", "")
        return SESSIONS.pop(sid, None) if pop else SESSIONS.get(sid)

    def logout_form(self, id_token):
        """RP-Initiated Logout 1.0 §2: a POST to the relay's end_session_endpoint
        (keeps the ID token out of URLs and logs) with id_token_hint, a
        registered post_logout_redirect_uri and a fresh state, which must
        come back unchanged (checked in logged_out)."""
        end_session = self.cfg.disco.get("end_session_endpoint")
        if not end_session:
            return "", None
        state = secrets.token_urlsafe(16)
        fields = {"id_token_hint": id_token, "post_logout_redirect_uri": self.cfg.post_logout_redirect_uri,
                  "state": state}
        inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items())
        return (f'<form method="post" action="{html.escape(end_session)}">{inputs}'
                '<button type="submit">Uitloggen / Log out</button></form>'), state

    def logged_out(self, url):
        """post_logout_redirect_uri: the relay (and TVS) ended the session."""
        state = dict(urllib.parse.parse_qsl(url.query)).get("state")
        sess = self.cookie_session(pop=True)
        if not sess or not sess.get("logout_state") or state != sess["logout_state"]:
            self.send_page("<h2>Onbekende uitlog</h2><p>Deze terugkeer na uitloggen hoort niet bij een uitlog van dit "
                           "portaal (state klopt niet). <a href='/'>Terug</a></p>", 400)
            return
        self.send_page("<h2>Uitgelogd</h2><p>U bent uitgelogd bij het portaal en bij zorgrelay (state klopt).</p>"
                       "<p><a href='/'>Opnieuw inloggen</a></p>",
                       headers=[("Set-Cookie", "portal_sid=; Max-Age=0; HttpOnly; SameSite=Lax; Path=/")])

    def callback(self, url):
        q = dict(urllib.parse.parse_qsl(url.query))
        sess = self.cookie_session(pop=True)
        if not sess or q.get("state") != sess["state"]:
            self.send_page("<p>Onbekende of verlopen login. <a href='/'>Opnieuw</a></p>", 400)
            return
        if "error" in q:
            self.send_page(f"<h2>Niet ingelogd</h2><p>De relay meldt <code>{html.escape(q['error'])}</code>: "
                           f"{html.escape(q.get('error_description', ''))}</p><p><a href='/'>Terug</a></p>")
            return
        if q.get("iss") != self.cfg.disco["issuer"]:
            self.send_page("<p>Antwoord van een onverwachte uitgever (iss).</p>", 400)
            return
        token = self.client().fetch_token(self.cfg.disco["token_endpoint"],
                                          authorization_response=self.cfg.redirect_uri + "?" + url.query,
                                          code_verifier=sess["verifier"])
        jwks = JsonWebKey.import_key_set(requests.get(self.cfg.disco["jwks_uri"], timeout=10).json())
        claims = jwt.decode(token["id_token"], jwks, claims_cls=CodeIDToken,
                            claims_options={"iss": {"essential": True, "value": self.cfg.disco["issuer"]},
                                            "aud": {"essential": True, "value": self.cfg.client_id}},
                            claims_params={"nonce": sess["nonce"], "client_id": self.cfg.client_id})
        claims.validate(leeway=5)
        info = requests.get(self.cfg.disco["userinfo_endpoint"],
                            headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10).json()
        # The logged-in session keeps the ID token: logging out needs it (with its sid).
        form, logout_state = self.logout_form(token["id_token"])
        sid = secrets.token_urlsafe(24)
        SESSIONS[sid] = {"id_token": token["id_token"], "logout_state": logout_state}
        # tabindex: a scrolling <pre> must be reachable by keyboard (WCAG 2.1.1).
        self.send_page("<h2>Ingelogd</h2>" + form + "<p>Dit ontving het portaal van zorgrelay (ID token, door "
                       "Authlib gecontroleerd):</p><pre tabindex='0'>" +
                       html.escape(json.dumps(dict(claims), indent=2)) + "</pre><p>UserInfo:</p><pre tabindex='0'>" +
                       html.escape(json.dumps(info, indent=2)) + "</pre><p><a href='/'>Opnieuw</a></p>",
                       headers=[("Set-Cookie", f"portal_sid={sid}; HttpOnly; SameSite=Lax; Path=/")])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", default="http://localhost:8080")
    ap.add_argument("--client-id", default="demo-portal")
    ap.add_argument("--client-secret", default="demo-portal-secret")
    ap.add_argument("--port", type=int, default=8000)
    cfg = ap.parse_args()
    cfg.redirect_uri = f"http://localhost:{cfg.port}/callback"
    cfg.post_logout_redirect_uri = f"http://localhost:{cfg.port}/"  # registered in examples/zorgrelay.yaml
    cfg.disco = requests.get(cfg.issuer + "/.well-known/openid-configuration", timeout=10).json()
    Portal.cfg = cfg
    server = http.server.ThreadingHTTPServer(("127.0.0.1", cfg.port), Portal)
    server.serve_forever()


if __name__ == "__main__":
    main()
