#!/usr/bin/python3
"""The browser's part of a patient login, for a portal written in another
language (tests/integration/oidc_client_jwe.js): from the authorization URL
through the relay and the mock TVS to the portal's redirect URI.

Prints the callback URL (with code, state and iss) on stdout, or a line
"error ..." and exits 1.
Usage: browser_walk.py AUTHORIZATION_URL REDIRECT_URI IDENTITY-SUBSTRING
"""
import os
import sys
import urllib.parse

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_login import forms_of, submit  # noqa: E402


def main():
    url, redirect_uri, identity = sys.argv[1:4]
    browser = requests.Session()
    r = browser.get(url, allow_redirects=False, timeout=20)
    if r.status_code in (302, 303) and r.headers.get("Location", "").startswith(redirect_uri):
        print(r.headers["Location"])  # refused at once, an OAuth error for the portal
        return 0
    forms = forms_of(r.text) if r.status_code == 200 else []
    if not forms or "SAMLRequest" not in dict(forms[0]["fields"]):
        print("error no AuthnRequest form from /authorize (%d)" % r.status_code)
        return 1
    r = submit(browser, url, forms[0])
    picker = [(f, b) for f in forms_of(r.text) for b in f["buttons"]
              if identity.lower() in (b["text"] + " " + (b["value"] or "")).lower()]
    if not picker:
        print("error identity not offered by the mock TVS")
        return 1
    r = submit(browser, r.url, picker[0][0], picker[0][1])
    for _ in range(5):
        if r.status_code not in (301, 302, 303):
            break
        loc = urllib.parse.urljoin(r.url, r.headers["Location"])
        if loc.startswith(redirect_uri):
            print(loc)
            return 0
        r = browser.get(loc, allow_redirects=False, timeout=30)
    print("error the relay did not redirect to the portal (%d)" % r.status_code)
    return 1


if __name__ == "__main__":
    sys.exit(main())
