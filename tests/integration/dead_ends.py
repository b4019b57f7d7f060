#!/usr/bin/python3
"""Issue 18 §1, no dead ends: walks the relay's error paths as a browser
would (`requests`, forms followed like e2e_login.py does) and prints one JSON
object per case describing the page the person got: its status, error
code, language, heading, the focusable ways forward (links and buttons
other than the skip link) and the helpdesk.

Usage: dead_ends.py --issuer URL CASE [--lang nl|en]
CASE: acs-again    log in, then the ACS URL again in the same browser
                   (reload) and in a fresh one (a replayed answer)
      chooser      the chooser sent twice; its cancel (access_denied at the
                   portal) and that cancel sent again
      expire-begin start a login, stop before TVS: prints the ACS URL to poll
      page URL     the page a fresh browser gets at URL
      logout-done  /logout for demo-portal without a session
"""
import argparse
import base64
import hashlib
import html.parser
import json
import os
import re
import secrets
import sys
import urllib.parse

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_login import forms_of, submit  # noqa: E402

CLIENT = "demo-portal"
REDIRECT = "http://localhost:8000/callback"


class PageParser(html.parser.HTMLParser):
    """The focusable elements of a page and the text of its h1."""

    def __init__(self):
        super().__init__()
        self.links, self.buttons, self.h1, self._in = [], [], "", None
        self.classes = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.classes += (a.get("class") or "").split()
        # The language switch (hreflang, or a button sending lang) is no way forward.
        if (tag == "a" and a.get("hreflang")) or (tag == "button" and a.get("name") == "lang"):
            return
        if tag == "a" and a.get("href") and "skip" not in (a.get("class") or "").split():
            self._in = {"href": a["href"], "text": ""}
            self.links.append(self._in)
        elif tag == "button":
            self._in = {"value": a.get("value", ""), "text": ""}
            self.buttons.append(self._in)
        elif tag == "h1":
            self._in = "h1"

    def handle_data(self, data):
        if self._in == "h1":
            self.h1 += data
        elif isinstance(self._in, dict):
            self._in["text"] += data

    def handle_endtag(self, tag):
        if tag in ("a", "button", "h1"):
            self._in = None


def describe(r):
    p = PageParser()
    p.feed(r.text)
    m = re.search(r"<code>([a-z_]+)</code>", r.text)
    lang = re.search(r'<html lang="([a-z]+)"', r.text)
    return {"status": r.status_code, "code": m.group(1) if m else None, "lang": lang.group(1) if lang else None,
            "h1": p.h1.strip(), "links": [{"href": l["href"], "text": " ".join(l["text"].split())} for l in p.links],
            "buttons": [" ".join(b["text"].split()) for b in p.buttons], "way_none": "way-none" in p.classes,
            "helpdesk": "helpdesk" in p.classes,
            "text": " ".join(re.sub(r"<[^>]+>", " ", r.text.split("<main", 1)[-1]).split())}


def authorize_url(issuer, lang, state, extra=None):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = {"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "scope": "openid",
         "state": state, "nonce": secrets.token_urlsafe(12), "code_challenge": challenge,
         "code_challenge_method": "S256", "ui_locales": lang}
    q.update(extra or {})
    return issuer + "/authorize?" + urllib.parse.urlencode(q)


def to_tvs(browser, issuer, lang, state):
    """/authorize with login_method patient: the auto-POST form towards TVS."""
    r = browser.get(authorize_url(issuer, lang, state, {"login_method": "patient"}), allow_redirects=False,
                    timeout=20)
    forms = forms_of(r.text) if r.status_code == 200 else []
    if not forms or "SAMLRequest" not in dict(forms[0]["fields"]):
        raise SystemExit(json.dumps({"error": "no AuthnRequest form", "status": r.status_code}))
    return r, forms[0]


def acs_again(issuer, lang):
    browser = requests.Session()
    r, form = to_tvs(browser, issuer, lang, "s-acs")
    r = submit(browser, r.url, form)
    picker = [(f, b) for f in forms_of(r.text) for b in f["buttons"] if "DigiD Substantieel" in b["text"]]
    r = submit(browser, r.url, picker[0][0], picker[0][1])
    acs = urllib.parse.urljoin(r.url, r.headers["Location"])
    first = browser.get(acs, allow_redirects=False, timeout=30)
    loc = first.headers.get("Location", "")
    out = {"first_status": first.status_code, "first_code": "code=" in loc and loc.startswith(REDIRECT)}
    out["reload"] = describe(browser.get(acs, allow_redirects=False, timeout=30))
    out["replay"] = describe(requests.get(acs, headers={"Accept-Language": lang}, allow_redirects=False, timeout=30))
    return out


def chooser(issuer, lang):
    out = {}
    browser = requests.Session()
    r = browser.get(authorize_url(issuer, lang, "s-twice"), allow_redirects=False, timeout=20)
    form = [f for f in forms_of(r.text) if f["action"].endswith("/login/choose")][0]
    out["chooser_buttons"] = [b["value"] for b in form["buttons"]]
    first = submit(browser, r.url, form, [b for b in form["buttons"] if b["value"] == "patient"][0])
    out["first_status"] = first.status_code
    out["twice"] = describe(submit(browser, r.url, form, [b for b in form["buttons"] if b["value"] == "patient"][0]))
    # Cancel: back to the portal with access_denied, state and iss (RFC 9207).
    browser = requests.Session()
    r = browser.get(authorize_url(issuer, lang, "s-cancel"), allow_redirects=False, timeout=20)
    form = [f for f in forms_of(r.text) if f["action"].endswith("/login/choose")][0]
    cancel = [b for b in form["buttons"] if b["value"] == "cancel"][0]
    out["cancel_text"] = " ".join(cancel["text"].split())
    c = submit(browser, r.url, form, cancel)
    loc = c.headers.get("Location", "")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(loc).query))
    out["cancel"] = {"status": c.status_code, "to_portal": loc.startswith(REDIRECT + "?"), "error": q.get("error"),
                     "state": q.get("state"), "iss": q.get("iss"), "code": "code" in q}
    # The same cancel again: single use.
    out["cancel_again"] = describe(submit(browser, r.url, form, cancel))
    # Without the browser's binding cookie (another site posting the form): refused, nothing sent to the portal.
    r = browser.get(authorize_url(issuer, lang, "s-csrf"), allow_redirects=False, timeout=20)
    form = [f for f in forms_of(r.text) if f["action"].endswith("/login/choose")][0]
    cancel = [b for b in form["buttons"] if b["value"] == "cancel"][0]
    foreign = requests.Session()
    foreign.headers["Accept-Language"] = lang
    out["cancel_foreign"] = describe(submit(foreign, r.url, form, cancel))
    return out


def expire_begin(issuer, lang):
    """A login that goes no further than the form towards TVS: the ACS URL it
    would come back to (a made-up artifact; the pending login is never
    resolved, it only expires)."""
    browser = requests.Session()
    _, form = to_tvs(browser, issuer, lang, "s-expire")
    relay_state = dict(form["fields"])["RelayState"]
    art = base64.b64encode(b"\x00\x04" + b"\x00\x00" + secrets.token_bytes(40)).decode()
    return {"acs": issuer + "/saml/acs?" + urllib.parse.urlencode({"SAMLart": art, "RelayState": relay_state})}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--lang", default="nl")
    ap.add_argument("case")
    ap.add_argument("url", nargs="?")
    a = ap.parse_args()
    if a.case == "acs-again":
        out = acs_again(a.issuer, a.lang)
    elif a.case == "chooser":
        out = chooser(a.issuer, a.lang)
    elif a.case == "expire-begin":
        out = expire_begin(a.issuer, a.lang)
    elif a.case == "page":
        out = describe(requests.get(a.url, headers={"Accept-Language": a.lang}, allow_redirects=False, timeout=30))
    elif a.case == "logout-done":
        out = describe(requests.get(a.issuer + "/logout?client_id=" + CLIENT, headers={"Accept-Language": a.lang},
                                    allow_redirects=False, timeout=30))
    else:
        raise SystemExit("unknown case " + a.case)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
