#!/usr/bin/env bash
# Issue 18 §1, no dead ends (docs/pages.md): every error page of the relay
# and the logout-done page offers a way forward (back to the portal's
# home_page, "Opnieuw inloggen" where starting over makes sense, the
# helpdesk) or, when the relay cannot know where the person came from, says
# what to do. The four situations that all said "session expired" before
# each get their own page: a real timeout, the ACS reloaded after a login,
# a used answer presented again, the chooser sent twice. The chooser's
# cancel gives access_denied at the portal with state and iss, once.
# The example configuration: demo-portal's home_page http://localhost:8000/,
# initiate_login_uri http://localhost:8000/login; the care provider's
# helpdesk (phone 088 123 45 67).
source "$(dirname "$0")/lib.sh"
zr_env_up
DE="$PY $ZR_SOURCE_DIR/tests/integration/dead_ends.py --issuer $ISSUER"
HOME_LINK='{"href": "http://localhost:8000/", "text": "Terug naar Demo patientportaal"}'
HOME_LINK_EN='{"href": "http://localhost:8000/", "text": "Back to Demo patientportaal"}'
LOGIN_LINK='{"href": "http://localhost:8000/login", "text": "Opnieuw inloggen"}'
LOGIN_LINK_EN='{"href": "http://localhost:8000/login", "text": "Log in again"}'
TEL='{"href": "tel:0881234567", "text": "088 123 45 67"}'

# A page's summary: status code lang h1 | its links (JSON).
page() {  # page JSON KEY
  zr_json "$1" "'%s %s %s %s' % (d['$2']['status'], d['$2']['code'], d['$2']['lang'], d['$2']['h1'])"
}
has_link() {  # has_link JSON KEY LINK-JSON -> yes/no
  $PY -c "import json,sys; d=json.loads(sys.argv[1])[sys.argv[2]]; print('yes' if json.loads(sys.argv[3]) in d['links'] else 'no')" "$1" "$2" "$3"
}
links() {  # the hrefs of a page, space separated
  zr_json "$1" "' '.join(l['href'] for l in d['$2']['links'])"
}

for lang in nl en; do
  if [ "$lang" = nl ]; then home=$HOME_LINK; login=$LOGIN_LINK; else home=$HOME_LINK_EN; login=$LOGIN_LINK_EN; fi

  # 1. The ACS URL again after a successful login: in the same browser
  #    (reload, back button) "already logged in"; from another browser, a
  #    used answer. Still refused: no second code.
  out=$($DE --lang $lang acs-again)
  zr_check "$lang: the login itself went to the portal with a code" "$(zr_json "$out" 'd["first_code"]')" "True"
  if [ $lang = nl ]; then
    zr_check "nl: ACS reloaded after the login: its own page" "$(page "$out" reload)" "400 login_already_done nl U bent al ingelogd"
    zr_check "nl: a used answer from another browser: saml_replay" "$(page "$out" replay)" "400 saml_replay nl Antwoord al gebruikt"
    zr_check "nl: the replay page asks about the back button" "$(zr_json "$out" '"Gebruikte u de terugknop" in d["replay"]["text"]')" "True"
  else
    zr_check "en: ACS reloaded after the login: its own page" "$(page "$out" reload)" "400 login_already_done en You are already logged in"
    zr_check "en: a used answer from another browser: saml_replay" "$(page "$out" replay)" "400 saml_replay en Answer already used"
  fi
  zr_check "$lang: already logged in: back to the portal" "$(has_link "$out" reload "$home")" "yes"
  zr_check "$lang: already logged in: no 'log in again' (the person is logged in)" "$(has_link "$out" reload "$login")" "no"
  zr_check "$lang: already logged in: the care provider's helpdesk, phone as a tel: link" "$(has_link "$out" reload "$TEL")" "yes"
  zr_check "$lang: replayed answer: back to the portal" "$(has_link "$out" replay "$home")" "yes"
  zr_check "$lang: replayed answer: log in again" "$(has_link "$out" replay "$login")" "yes"

  # 2. The chooser sent twice; its cancel, once.
  out=$($DE --lang $lang chooser)
  zr_check "$lang: the chooser offers a cancel" "$(zr_json "$out" 'd["chooser_buttons"]')" '["patient", "professional", "cancel"]'
  if [ $lang = nl ]; then
    zr_check "nl: chooser sent twice: its own page" "$(page "$out" twice)" "400 choice_already_made nl Keuze al gemaakt"
    zr_check "nl: the cancel names the portal" "$(zr_json "$out" 'd["cancel_text"]')" "Annuleren en terug naar Demo patientportaal"
  else
    zr_check "en: chooser sent twice: its own page" "$(page "$out" twice)" "400 choice_already_made en Choice already made"
    zr_check "en: the cancel names the portal" "$(zr_json "$out" 'd["cancel_text"]')" "Cancel and go back to Demo patientportaal"
  fi
  zr_check "$lang: chooser sent twice: back to the portal" "$(has_link "$out" twice "$home")" "yes"
  zr_check "$lang: cancel: access_denied at the portal, state and iss, no code" \
    "$(zr_json "$out" '[d["cancel"][k] for k in ("status","to_portal","error","state","iss","code")]')" \
    "[302, true, \"access_denied\", \"s-cancel\", \"$ISSUER\", false]"
  zr_check "$lang: cancel sent again: refused, with a way back" "$(zr_json "$out" 'd["cancel_again"]["code"]')" "choice_already_made"
  zr_check "$lang: cancel sent again: back to the portal" "$(has_link "$out" cancel_again "$home")" "yes"
  zr_check "$lang: cancel from another browser (CSRF): refused" "$(zr_json "$out" '[d["cancel_foreign"][k] for k in ("status","code")]')" '[400, "browser_mismatch"]'
  zr_check "$lang: cancel from another browser: back to the portal" "$(has_link "$out" cancel_foreign "$home")" "yes"

  # 3. Nothing known (a RelayState the relay never gave out): no link to
  #    guess, a sentence saying what to do.
  out=$($DE --lang $lang page "$ISSUER/saml/acs?SAMLart=AAQAAA&RelayState=unknown-$lang")
  out="{\"p\": $out}"
  zr_check "$lang: unknown login: session_expired" "$(zr_json "$out" '[d["p"]["status"], d["p"]["code"], d["p"]["lang"]]')" "[400, \"session_expired\", \"$lang\"]"
  zr_check "$lang: unknown login: no made-up link" "$(links "$out" p)" ""
  zr_check "$lang: unknown login: the sentence says what to do" "$(zr_json "$out" 'd["p"]["way_none"]')" "True"

  # 3b. An unregistered return address: the client is known, so its
  #     registered home page; never a link to the address the request named.
  out="{\"p\": $($DE --lang $lang page "$ISSUER/authorize?response_type=code&client_id=demo-portal&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&state=s&nonce=n")}"
  zr_check "$lang: unregistered redirect_uri: its page" "$(zr_json "$out" '[d["p"]["status"], d["p"]["code"]]')" '[400, "invalid_redirect_uri"]'
  zr_check "$lang: unregistered redirect_uri: back to the registered home page only" "$(links "$out" p)" "http://localhost:8000/ tel:0881234567 http://localhost:8000/help"

  # 4. The logout-done page.
  out="{\"p\": $($DE --lang $lang logout-done)}"
  zr_check "$lang: logout done: 200" "$(zr_json "$out" 'd["p"]["status"]')" "200"
  zr_check "$lang: logout done: back to the portal" "$(has_link "$out" p "$home")" "yes"
done

# 5. A real timeout: the login's pending record expires; its trail still
#    names the portal. Waited for as an event: the ACS without the
#    browser's cookie says browser_mismatch while the login is pending and
#    session_expired once it expired (nothing is spent meanwhile).
sed -i 's/session_lifetime: 900/session_lifetime: 1/' "$ZR_CONFIG"
grep -q 'session_lifetime: 1$' "$ZR_CONFIG" || { echo "not ok - session_lifetime not found in the configuration"; exit 1; }
zr_restart_relay
for lang in nl en; do
  acs=$(zr_json "$($DE --lang $lang expire-begin)" 'd["acs"]')
  got=""
  for i in $(seq 1 300); do
    out="{\"p\": $($DE --lang $lang page "$acs")}"
    got=$(zr_json "$out" 'd["p"]["code"]')
    [ "$got" = session_expired ] && break
    [ "$got" = browser_mismatch ] || break
    sleep 0.1
  done
  if [ $lang = nl ]; then h1="Uw inlogsessie is verlopen"; home=$HOME_LINK; login=$LOGIN_LINK;
  else h1="Your login session has expired"; home=$HOME_LINK_EN; login=$LOGIN_LINK_EN; fi
  zr_check "$lang: expired login: session_expired" "$(zr_json "$out" '[d["p"]["status"], d["p"]["code"], d["p"]["lang"], d["p"]["h1"]]')" "[400, \"session_expired\", \"$lang\", \"$h1\"]"
  zr_check "$lang: expired login: back to the portal (known from the trail)" "$(has_link "$out" p "$home")" "yes"
  zr_check "$lang: expired login: log in again" "$(has_link "$out" p "$login")" "yes"
  zr_check "$lang: expired login: helpdesk" "$(has_link "$out" p "$TEL")" "yes"
done

# Nothing secret in the trail's page or log lines.
zr_check "no RelayState or artifact in the relay's log" "$(grep -c 'SAMLart=\|RelayState=' "$ZR_TMP/relay.log")" "0"
zr_done
