#!/usr/bin/python3
"""Issue 18 §2, the language switch (docs/pages.md): drives the switch on
each kind of page as a browser without JavaScript would (`requests`, forms
followed like e2e_login.py) and prints one JSON object describing what
happened. Every URL the browser was sent to or offered is collected in
"urls", every single-use value a page carried in "secrets", so that the
test can check that none of them ever stands in a URL.

Usage: lang_switch.py --issuer URL CASE
CASE: chooser   switch at the chooser (nl -> en), then log in as a patient,
                switching at the mock TVS's login page too (en -> nl):
                the login completes (code and tokens)
      refusal   cancel at the mock TVS, switch at the relay's refusal page
                (nl -> en): same case and reference, a new handle, the
                button still delivers access_denied once
      get URL   the switch link of a page reached by GET, followed
      post URL DATA  the same for a page that answered a POST of DATA
"""
import argparse
import base64
import hashlib
import html
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
SECRET = "demo-portal-secret"
REDIRECT = "http://localhost:8000/callback"


def page_info(r):
    """What a test wants to know of a page: status, <html lang>, h1, the
    error code and reference, the switch (links and buttons) and the
    single-use handle of its form."""
    t = r.text
    lang = re.search(r'<html lang="([a-z]+)"', t)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", t, re.S)
    code = re.search(r"(?:Foutcode|Error code): <code>([a-z_]+)</code>", t)
    nav = re.search(r'<nav class="lang-switch"[^>]*>(.*?)</nav>', t, re.S)
    switch = []
    for m in re.finditer(r"<(a|button)\b([^>]*)>(.*?)</\1>", nav.group(1) if nav else "", re.S):
        attrs = {k: html.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', m.group(2))}
        switch.append({"tag": m.group(1), "text": m.group(3).strip(), **attrs})
    handle = re.search(r'name="handle" value="([^"]+)"', t)
    ref = re.search(r"(?:Referentie|Reference): <code>([^<]+)</code>", t)
    return {"status": r.status_code, "lang": lang.group(1) if lang else None,
            "h1": " ".join(re.sub(r"<[^>]+>", " ", h1.group(1)).split()) if h1 else None,
            "code": code.group(1) if code else None, "switch": switch,
            "handle": handle.group(1) if handle else None,
            "ref": ref.group(1) if ref else None,
            "hint": 'class="lang-hint"' in t or "Set English as the preferred language" in t
            or "Stel Nederlands in als voorkeurstaal" in t,
            "set_cookie": r.headers.get("Set-Cookie")}


def authorize_url(issuer, lang, state, verifier, extra=None):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = {"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "scope": "openid",
         "state": state, "nonce": secrets.token_urlsafe(12), "code_challenge": challenge,
         "code_challenge_method": "S256", "ui_locales": lang}
    q.update(extra or {})
    return issuer + "/authorize?" + urllib.parse.urlencode(q)


class Run:
    def __init__(self, accept_language):
        self.browser = requests.Session()
        self.browser.headers["Accept-Language"] = accept_language
        self.urls, self.secrets = [], []

    def seen(self, r):
        self.urls.append(r.url)
        if r.headers.get("Location"):
            self.urls.append(urllib.parse.urljoin(r.url, r.headers["Location"]))
        info = page_info(r)
        if info["handle"]:
            self.secrets.append(info["handle"])
        for s in info["switch"]:
            if s.get("href"):
                self.urls.append(urllib.parse.urljoin(r.url, s["href"]))
        return r

    def get(self, url):
        return self.seen(self.browser.get(url, allow_redirects=False, timeout=30))

    def post(self, url, data):
        return self.seen(self.browser.post(url, data=data, allow_redirects=False, timeout=30))

    def follow(self, r):
        while r.status_code in (302, 303):
            r = self.get(urllib.parse.urljoin(r.url, r.headers["Location"]))
        return r

    def switch(self, r, form_action, code):
        """Presses the switch button for language code: it posts the page's
        form (the one with form_action) with lang=code."""
        form = [f for f in forms_of(r.text) if f["action"].endswith(form_action)][0]
        url = urllib.parse.urljoin(r.url, form["action"])
        return self.post(url, list(form["fields"]) + [("lang", code)])


def chooser(issuer):
    out = {}
    run = Run("nl")
    verifier = secrets.token_urlsafe(48)
    r = run.get(authorize_url(issuer, "nl", "s-chooser", verifier))
    out["before"] = page_info(r)
    r2 = run.switch(r, "/login/choose", "en")
    out["after"] = page_info(r2)
    # The old page's form again (back button): its handle is spent.
    old = [f for f in forms_of(r.text) if f["action"].endswith("/login/choose")][0]
    out["old_handle_again"] = page_info(run.seen(submit(run.browser, r.url, old,
                                                       [b for b in old["buttons"] if b["value"] == "patient"][0])))
    out["old_switch_again"] = page_info(run.switch(r, "/login/choose", "en"))
    # The new page: patient, on to the mock TVS (autopost), in English.
    form = [f for f in forms_of(r2.text) if f["action"].endswith("/login/choose")][0]
    hop = run.seen(submit(run.browser, r2.url, form, [b for b in form["buttons"] if b["value"] == "patient"][0]))
    out["hop"] = page_info(hop)
    tvs_form = forms_of(hop.text)[0]
    tvs = run.seen(submit(run.browser, hop.url, tvs_form))
    out["tvs_before"] = page_info(tvs)
    tvs2 = run.switch(tvs, "/kvs/rd/choose", "nl")
    out["tvs_after"] = page_info(tvs2)
    out["tvs_old_handle_again"] = page_info(run.switch(tvs, "/kvs/rd/choose", "nl"))
    form = [f for f in forms_of(tvs2.text) if f["action"].endswith("/kvs/rd/choose")][0]
    pick = [b for b in form["buttons"] if "DigiD Substantieel" in b["text"]][0]
    r = run.seen(submit(run.browser, tvs2.url, form, pick))
    acs = urllib.parse.urljoin(r.url, r.headers["Location"])
    r = run.get(acs)
    loc = r.headers.get("Location", "")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(loc).query))
    out["to_portal"] = loc.startswith(REDIRECT + "?")
    out["state"] = q.get("state")
    if q.get("code"):
        t = requests.post(issuer + "/token", auth=(CLIENT, SECRET), timeout=30,
                          data={"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
                                "code_verifier": verifier})
        out["token_status"] = t.status_code
        out["id_token"] = "id_token" in t.json()
    # The ACS address again in this browser: an error page whose address
    # carries the artifact offers no switch link (it would repeat it).
    again = run.get(acs)
    out["acs_again"] = page_info(again)
    links = [e for e in out["acs_again"]["switch"] if e.get("href")]
    if links:
        out["acs_again_switched"] = page_info(run.get(urllib.parse.urljoin(again.url, links[0]["href"])))
        out["acs_again_switched"]["back_link"] = "http://localhost:8000/" in run.browser.get(
            urllib.parse.urljoin(again.url, links[0]["href"]), allow_redirects=False, timeout=30).text
    out["cookies"] = sorted(c.name for c in run.browser.cookies)
    out["urls"], out["secrets"] = run.urls, run.secrets
    return out


def refusal(issuer):
    out = {}
    run = Run("nl")
    verifier = secrets.token_urlsafe(48)
    hop = run.get(authorize_url(issuer, "nl", "s-refusal", verifier, {"login_method": "patient"}))
    tvs = run.seen(submit(run.browser, hop.url, forms_of(hop.text)[0]))
    form = [f for f in forms_of(tvs.text) if f["action"].endswith("/kvs/rd/choose")][0]
    cancel = [b for b in form["buttons"] if "Annuleren" in b["text"]][0]
    r = run.seen(submit(run.browser, tvs.url, form, cancel))
    page = run.get(urllib.parse.urljoin(r.url, r.headers["Location"]))
    out["before"] = page_info(page)
    page2 = run.switch(page, "/authorize/return", "en")
    out["after"] = page_info(page2)
    out["old_switch_again"] = page_info(run.switch(page, "/authorize/return", "en"))
    # The new page's button delivers the error, once.
    form = [f for f in forms_of(page2.text) if f["action"].endswith("/authorize/return")][0]
    r = run.seen(submit(run.browser, page2.url, form))
    loc = r.headers.get("Location", "")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(loc).query))
    out["delivered"] = {"status": r.status_code, "to_portal": loc.startswith(REDIRECT + "?"),
                        "error": q.get("error"), "state": q.get("state"), "zr_reason": q.get("zr_reason"),
                        "code": "code" in q}
    out["again"] = page_info(run.seen(submit(run.browser, page2.url, form)))
    out["urls"], out["secrets"] = run.urls, run.secrets
    return out


def get(url):
    run = Run("nl")
    r = run.get(url)
    out = {"before": page_info(r)}
    links = [s for s in out["before"]["switch"] if s.get("href")]
    if links:
        out["after"] = page_info(run.get(urllib.parse.urljoin(r.url, links[0]["href"])))
    out["urls"] = run.urls
    return out


def post(url, data):
    run = Run("nl")
    r = run.post(url, dict(urllib.parse.parse_qsl(data)))
    out = {"before": page_info(r)}
    links = [s for s in out["before"]["switch"] if s.get("href")]
    if links:
        out["after"] = page_info(run.get(urllib.parse.urljoin(r.url, links[0]["href"])))
    out["urls"] = run.urls
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("case")
    ap.add_argument("url", nargs="?")
    ap.add_argument("data", nargs="?", default="")
    a = ap.parse_args()
    out = {"chooser": lambda: chooser(a.issuer), "refusal": lambda: refusal(a.issuer),
           "get": lambda: get(a.url), "post": lambda: post(a.url, a.data)}[a.case]()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
