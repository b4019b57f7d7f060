#!/usr/bin/env bash
# Issue 18 §5: a third language is one new file. A copy of templates/ with a
# generated templates/lang/de.txt (en.txt's texts with a "[de] " mark in
# front, so every German word on a page is seen to come from de.txt) is
# given to the relay and the mock TVS with ZR_TEMPLATES: ui_locales=de and
# Accept-Language: de give pages with lang="de" and only de.txt's words; a
# login with ui_locales=de completes. A de.txt that lacks one key, or has
# one nl.txt does not, stops the relay at start with FILE:LINE.
source "$(dirname "$0")/lib.sh"

TPL=$ZR_TMP/templates
cp -r "$ZR_SOURCE_DIR/templates" "$TPL"
# de.txt from en.txt: every value marked, lang.name the language's own name;
# the footer's hint keeps pointing at Dutch by its code.
$PY - "$TPL/lang/en.txt" "$TPL/lang/de.txt" <<'PYEOF'
import sys
out = []
for line in open(sys.argv[1], encoding="utf-8"):
    s = line.rstrip("\n")
    if not s.strip() or s.lstrip().startswith("#") or "=" not in s:
        out.append(s)
        continue
    k, _, v = s.partition("=")
    k, v = k.strip(), v.strip()
    if k == "lang.name":
        v = "Deutsch"
    elif k == "layout-bottom.other_language_code":
        v = "nl"
    else:
        v = "[de] " + v
    out.append(f"{k} = {v}")
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
PYEOF
export ZR_TEMPLATES=$TPL
zr_env_up

# 1. An error page before the client is trusted, by ui_locales and by
#    Accept-Language: German, from de.txt, nothing Dutch or English.
for how in "ui_locales=de|nl" "ui_locales=|de" "ui_locales=fr%20de-AT%20en|nl" "ui_locales=|de-CH,de;q=0.9,en;q=0.8"; do
  q=${how%%|*}; al=${how#*|}
  page=$(curl -s -H "Accept-Language: $al" "$ISSUER/authorize?client_id=no-such-portal&response_type=code&scope=openid&$q")
  zr_check "$q, Accept-Language $al: <html lang=\"de\">" "$(grep -c '<html lang="de">' <<<"$page")" "1"
  zr_check "$q, Accept-Language $al: the title is de.txt's" \
    "$(grep -c '<h1>\[de\] Unknown website or app</h1>' <<<"$page")" "1"
  zr_check "$q, Accept-Language $al: no Dutch or unmarked English" \
    "$(grep -cE 'Onbekende website|Foutcode|>Error code|>Skip to content<|>Direct naar' <<<"$page" || true)" "0"
done
page=$(curl -s -H 'Accept-Language: de;q=0.5, en' "$ISSUER/no-such-page")
zr_check "Accept-Language 'de;q=0.5, en': English (q-values honoured)" "$(grep -c '<html lang="en">' <<<"$page")" "1"
page=$(curl -s -H 'Accept-Language: de' "$ISSUER/no-such-page")
zr_check "Accept-Language de, a page typed in: German 404" \
  "$(grep -c '<h1>\[de\] Page not found</h1>' <<<"$page")" "1"

# 2. A whole login with ui_locales=de: the pages of the relay are German
#    (the chooser is not shown for this portal: the form to TVS), the mock
#    TVS speaks the browser's language (Accept-Language de), the login
#    completes.
mkdir -p "$ZR_TMP/pages"
out=$(zr_login "DigiD Substantieel" --accept-language de --ui-locales de --pages-out "$ZR_TMP/pages")
zr_check "ui_locales de: every page of the login is German" \
  "$(zr_json "$out" 'sorted(set(d["page_langs"]))')" '["de"]'
zr_check "ui_locales de: the login completes" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
n_auto=$(grep -l 'id="zr-autopost"' "$ZR_TMP"/pages/* 2>/dev/null | wc -l)
n_de=$(grep -l '<h1>\[de\] One moment</h1>' "$ZR_TMP"/pages/* 2>/dev/null | wc -l)
zr_check "ui_locales de: the page to TVS says de.txt's words" "$([ "$n_auto" -ge 1 ] && echo "$n_de" || echo none)" "$n_auto"

# 3. A de.txt missing one key, or with one key too many: the relay does not
#    start, and says which file and line.
zr_stop "$RELAY_PID"
cp "$TPL/lang/de.txt" "$ZR_TMP/de.txt.good"
sed -i '/^way\.log_in_again = /d' "$TPL/lang/de.txt"
rc=0; timeout 30 "$ZR_BIN" serve "$ZR_CONFIG" >"$ZR_TMP/refused.log" 2>&1 || rc=$?
zr_check "de.txt without way.log_in_again: the relay refuses to start" "$rc" "1"
nl_line=$(grep -n '^way\.log_in_again = ' "$TPL/lang/nl.txt" | cut -d: -f1)
zr_check "... naming the file, the key and nl.txt's line" \
  "$(grep -c "templates/lang/de.txt: key 'way.log_in_again' missing (.*templates/lang/nl.txt:$nl_line has it)" "$ZR_TMP/refused.log")" "1"
cp "$ZR_TMP/de.txt.good" "$TPL/lang/de.txt"
echo "way.only_in_german = Nur hier" >>"$TPL/lang/de.txt"
extra_line=$(wc -l <"$TPL/lang/de.txt")
rc=0; timeout 30 "$ZR_BIN" serve "$ZR_CONFIG" >"$ZR_TMP/refused2.log" 2>&1 || rc=$?
zr_check "de.txt with a key nl.txt lacks: the relay refuses to start" "$rc" "1"
zr_check "... at FILE:LINE" \
  "$(grep -c "templates/lang/de.txt:$extra_line: key 'way.only_in_german' is not in nl.txt" "$ZR_TMP/refused2.log")" "1"
rc=0; timeout 30 "$ZR_BIN" check-config "$ZR_CONFIG" >"$ZR_TMP/check.log" 2>&1 || rc=$?
zr_check "check-config finds it too" "$rc:$(grep -c "de.txt:$extra_line: key 'way.only_in_german'" "$ZR_TMP/check.log")" "1:1"
cp "$ZR_TMP/de.txt.good" "$TPL/lang/de.txt"
printf 'way.log_in_again = twice\n' >>"$TPL/lang/de.txt"
rc=0; timeout 30 "$ZR_BIN" serve "$ZR_CONFIG" >"$ZR_TMP/refused3.log" 2>&1 || rc=$?
zr_check "de.txt with a key twice: refused, both lines named" \
  "$rc:$(grep -c "de.txt:$(wc -l <"$TPL/lang/de.txt"): key 'way.log_in_again' given twice (also on line" "$ZR_TMP/refused3.log")" "1:1"
zr_done
