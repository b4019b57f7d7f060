#!/usr/bin/env bash
# Issue 18 §2, the language switch (docs/pages.md): on the chooser, the
# mock TVS's login page and the relay's refusal page the switch is a button
# of the page's own form (lang=<code>): the same page comes back in the
# other language under a fresh single-use handle, the old one is spent, and
# the login goes on and completes. A page reached by a repeatable GET links
# to its own address with lang=<code>; a page whose address carries an
# artifact or code offers no link. Nothing single-use ever stands in a URL.
# The choice sticks in a zr_lang cookie (SameSite=Lax, not a secret).
source "$(dirname "$0")/lib.sh"
ZR_ERROR_PAGES=relay
zr_env_up
LS="$PY $ZR_SOURCE_DIR/tests/integration/lang_switch.py --issuer $ISSUER"
# No single-use value of the run in any URL it saw or was offered.
no_secret_in_urls() {  # JSON -> "none" or the first leak
  $PY -c 'import json,sys
d=json.loads(sys.argv[1])
bad=[s for s in d["secrets"] if any(s in u or s in __import__("urllib.parse").parse.unquote(u) for u in d["urls"])]
print("none" if not bad else "leak: " + bad[0][:6])' "$1"
}
switch_of() {  # JSON KEY -> tag form name value lang text of the switch's one entry
  zr_json "$1" "' '.join(str(e.get(k)) for e in d['$2']['switch'] for k in ('tag','form','name','value','lang','text'))"
}

# 1. The chooser (the login asked ui_locales=nl), switched to English.
out=$($LS chooser)
zr_check "chooser: Dutch, with the switch: a button of its form, in English" "$(switch_of "$out" before)" \
  "button choose lang en en English"
zr_check "chooser: no browser hint where there is a switch" "$(zr_json "$out" 'd["before"]["hint"]')" "False"
zr_check "chooser: after the switch the same page in English" "$(zr_json "$out" '(d["after"]["status"], d["after"]["lang"], d["after"]["h1"])')" \
  "(200, 'en', 'How do you want to log in?')"
zr_check "chooser: ... whose switch leads back to Dutch" "$(switch_of "$out" after)" "button choose lang nl nl Nederlands"
zr_check "chooser: a fresh handle" "$(zr_json "$out" 'd["after"]["handle"] not in (None, d["before"]["handle"])')" "True"
zr_check "chooser: the choice is remembered (zr_lang, SameSite=Lax, not for scripts)" \
  "$(zr_json "$out" '"zr_lang=en; Path=/; HttpOnly; SameSite=Lax" in d["after"]["set_cookie"]')" "True"
zr_check "chooser: the old handle is spent (a choice on the old page)" "$(zr_json "$out" '(d["old_handle_again"]["status"], d["old_handle_again"]["code"])')" \
  "(400, 'choice_already_made')"
zr_check "chooser: the old handle is spent (its switch again)" "$(zr_json "$out" '(d["old_switch_again"]["status"], d["old_switch_again"]["code"])')" \
  "(400, 'choice_already_made')"
zr_check "chooser: the login goes on in English (the hop page)" "$(zr_json "$out" '(d["hop"]["lang"], d["hop"]["h1"])')" "('en', 'One moment')"
zr_check "hop page: no switch (it sends a message on), the hint instead" "$(zr_json "$out" '(d["hop"]["switch"], d["hop"]["hint"])')" "([], True)"
zr_check "mock TVS: its page follows the choice (zr_lang)" "$(zr_json "$out" 'd["tvs_before"]["lang"]')" "en"
zr_check "mock TVS: the switch is a button of its form" "$(switch_of "$out" tvs_before)" "button mock-login-form lang nl nl Nederlands"
zr_check "mock TVS: switched to Dutch, a fresh handle" \
  "$(zr_json "$out" '(d["tvs_after"]["lang"], d["tvs_after"]["h1"], d["tvs_after"]["handle"] not in (None, d["tvs_before"]["handle"]))')" \
  "('nl', 'Inloggen (test)', True)"
zr_check "mock TVS: the old handle is spent" "$(zr_json "$out" '(d["tvs_old_handle_again"]["status"], d["tvs_old_handle_again"]["h1"])')" \
  "(400, 'Verzoek geweigerd')"
zr_check "the login completes: a code at the portal with its state" "$(zr_json "$out" '(d["to_portal"], d["state"])')" "(True, 's-chooser')"
zr_check "the login completes: tokens for the code" "$(zr_json "$out" '(d.get("token_status"), d.get("id_token"))')" "(200, True)"
zr_check "an error page whose address holds the artifact: the switch links to /error, not to that address" \
  "$(zr_json "$out" '(d["acs_again"]["code"], [e["href"].split("&ref=")[0] for e in d["acs_again"]["switch"]], d["acs_again"]["hint"])')" \
  "('login_already_done', ['/error?code=login_already_done&status=400'], False)"
zr_check "... its link holds the page's reference, the client and care provider, nothing else" \
  "$(zr_json "$out" 'd["acs_again"]["switch"][0]["href"] == "/error?code=login_already_done&status=400&ref=%s&client=demo-portal&cp=zorgaanbieder-demo&lang=nl" % d["acs_again"]["ref"]')" "True"
zr_check "... which gives the same page (code, reference, way back) in Dutch" \
  "$(zr_json "$out" '(d["acs_again_switched"]["status"], d["acs_again_switched"]["lang"], d["acs_again_switched"]["code"], d["acs_again_switched"]["ref"] == d["acs_again"]["ref"], d["acs_again_switched"]["back_link"])')" \
  "(400, 'nl', 'login_already_done', True, True)"
zr_check "chooser run: no handle in any URL" "$(no_secret_in_urls "$out")" "none"

# 2. The relay's refusal page (cancel at TVS), switched to English.
out=$($LS refusal)
zr_check "refusal: Dutch, the switch is a button of its one form" "$(switch_of "$out" before)" \
  "button way-return-form lang en en English"
zr_check "refusal: the same case in English, same reference" \
  "$(zr_json "$out" '(d["after"]["status"], d["after"]["lang"], d["after"]["code"], d["after"]["h1"], d["after"]["ref"] == d["before"]["ref"])')" \
  "(403, 'en', 'cancelled', 'You cancelled logging in', True)"
zr_check "refusal: a fresh handle" "$(zr_json "$out" 'd["after"]["handle"] not in (None, d["before"]["handle"])')" "True"
zr_check "refusal: the old handle is spent" "$(zr_json "$out" '(d["old_switch_again"]["status"], d["old_switch_again"]["code"])')" "(400, 'return_used')"
zr_check "refusal: the new button delivers access_denied with the state, no code" \
  "$(zr_json "$out" '(d["delivered"]["status"], d["delivered"]["to_portal"], d["delivered"]["error"], d["delivered"]["state"], d["delivered"]["zr_reason"], d["delivered"]["code"])')" \
  "(302, True, 'access_denied', 's-refusal', 'cancelled', False)"
zr_check "refusal: ... once" "$(zr_json "$out" '(d["again"]["status"], d["again"]["code"])')" "(400, 'return_used')"
zr_check "refusal run: no handle in any URL" "$(no_secret_in_urls "$out")" "none"
zr_check "no handle in the relay's log" "$($PY -c 'import json,sys
d=json.loads(sys.argv[1]); log=open(sys.argv[2]).read()
print(sum(h in log for h in d["secrets"]))' "$out" "$ZR_TMP/relay.log")" "0"

# 3. Pages reached by a GET: a link to the same address with lang.
out=$($LS get "$ISSUER/authorize?client_id=no-such-portal&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback&response_type=code&scope=openid&state=st&ui_locales=nl")
zr_check "GET error page: a link, hreflang and lang en, labelled English" \
  "$(zr_json "$out" '[(e["tag"], e["hreflang"], e["lang"], e["text"]) for e in d["before"]["switch"]]')" '[["a", "en", "en", "English"]]'
zr_check "GET error page: the link is its own address with lang=en" \
  "$(zr_json "$out" 'd["before"]["switch"][0]["href"].startswith("/authorize?client_id=no-such-portal&") and d["before"]["switch"][0]["href"].endswith("&lang=en")')" "True"
zr_check "GET error page (ui_locales=nl): followed, the same error in English (the switch wins)" "$(zr_json "$out" '(d["after"]["status"], d["after"]["lang"], d["after"]["code"])')" \
  "(400, 'en', 'unknown_client')"
out=$($LS get "$ISSUER/saml/acs?SAMLart=AAQAAL4O0LGMMVi5Ku%2FLXj8Ly4em0LyD41225uAIg1igIuhA2SlAmZ4F8es%3D&RelayState=x")
zr_check "GET with an artifact in the address: the switch never repeats it" \
  "$(zr_json "$out" '[("SAMLart" in e["href"] or "RelayState" in e["href"], e["href"].startswith("/error?")) for e in d["before"]["switch"]]')" "[[false, true]]"
zr_check "... and gives the same error in English" "$(zr_json "$out" '(d["after"]["lang"], d["after"]["code"], d["after"]["ref"] == d["before"]["ref"])')" \
  "('en', '$(zr_json "$out" 'd["before"]["code"]')', True)"
out=$($LS post "$ISSUER/logout" "client_id=demo-portal")
zr_check "logout done after a POST: the switch links to /logout with the client alone" \
  "$(zr_json "$out" '(d["before"]["status"], d["before"]["h1"], [e["href"] for e in d["before"]["switch"]])')" \
  "(200, 'U bent uitgelogd', ['/logout?client_id=demo-portal&lang=en'])"
zr_check "... which gives the same page in English" "$(zr_json "$out" '(d["after"]["status"], d["after"]["lang"], d["after"]["h1"])')" \
  "(200, 'en', 'You are logged out')"
# /error makes only pages the relay has, with what the configuration knows.
err_page() { $PY "$ZR_SOURCE_DIR/tests/integration/dead_ends.py" --issuer "$ISSUER" page "$ISSUER/error?$1"; }
out=$(err_page "code=no_such_code&status=400&ref=abc")
zr_check "/error: an unknown code is a bad request" "$(zr_json "$out" '(d["status"], d["code"])')" "(400, 'bad_request')"
out=$(err_page "code=session_expired&status=200&ref=abc")
zr_check "/error: only an error status" "$(zr_json "$out" '(d["status"], d["code"])')" "(400, 'bad_request')"
out=$(err_page "code=session_expired&status=400&ref=%3Cscript%3E")
zr_check "/error: a reference of the relay's alphabet only" "$(zr_json "$out" '(d["status"], d["code"])')" "(400, 'bad_request')"
out=$(err_page "code=session_expired&status=400&ref=abc&client=no-such-portal")
zr_check "/error: an unknown client is left out (no made-up link)" "$(zr_json "$out" '(d["status"], d["code"], d["links"], d["way_none"])')" \
  "(400, 'session_expired', [], True)"
out=$($LS get "$ISSUER/login/choose")
zr_check "a page the server refuses by itself (405): the hint" "$(zr_json "$out" '(d["before"]["status"], d["before"]["switch"], d["before"]["hint"])')" "(405, [], True)"
zr_done
