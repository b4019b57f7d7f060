#!/usr/bin/env bash
# Issue 18 §5: the string catalogs (templates/lang/<code>.txt) are complete
# and used: lang_keys.py passes on the tree, and fails on copies with a key
# deleted from en.txt, an unused key added, an unknown key in a template or
# in C, and an error text whose code nothing in src/ can produce.
set -euo pipefail
: "${ZR_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
PY=/usr/bin/python3
CHECK="$ZR_SOURCE_DIR/tests/integration/lang_keys.py"
tmp=$(mktemp -d /tmp/zr-it-langkeys-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1" >&2; fails=$((fails + 1)); }

out=$($PY "$CHECK" "$ZR_SOURCE_DIR" 2>&1) && ok "the tree: $out" || { echo "$out" >&2; bad "the tree's catalogs"; }

# A fresh copy of templates/ and src/ for each mutation.
copy() {
  rm -rf "$tmp/t"
  mkdir -p "$tmp/t"
  cp -r "$ZR_SOURCE_DIR/templates" "$ZR_SOURCE_DIR/src" "$tmp/t/"
}
# expect_fail NAME PATTERN: the checker must exit 1 and name the finding.
expect_fail() {
  local out rc=0
  out=$($PY "$CHECK" "$tmp/t" 2>&1) || rc=$?
  if [ "$rc" = 1 ] && grep -qE "$2" <<<"$out"; then ok "$1 is found: $(grep -E "$2" <<<"$out" | head -1)"
  else echo "$out" >&2; bad "$1 not found (exit $rc)"; fi
}

copy
sed -i '/^way\.log_in_again = /d' "$tmp/t/templates/lang/en.txt"
expect_fail "a key deleted from en.txt" 'en\.txt: key way\.log_in_again missing'

copy
for l in nl en; do echo "way.never_used = x" >>"$tmp/t/templates/lang/$l.txt"; done
expect_fail "an unused key" 'key way\.never_used is used by no template'

copy
sed -i 's|{{@way.log_in_again}}|{{@way.log_in_agian}}|' "$tmp/t/templates/way-login.html"
expect_fail "an unknown key in a template" 'templates/way-login\.html:1: key way\.log_in_agian missing'

copy
sed -i 's|zr_lang_text(lang, "trace.back")|zr_lang_text(lang, "trace.bakc")|' "$tmp/t/src/diag/page.c"
expect_fail "an unknown key in C" 'src/diag/page\.c:[0-9]+: key trace\.bakc missing'

copy
sed -i 's|"saml_replay"|"saml_reuse"|g' $(grep -rl '"saml_replay"' "$tmp/t/src")
expect_fail "an error text whose code no code produces" 'key errors\.saml_replay\.title is used by no'

copy
sed -i 's|^way\.none = .*|way.none = {{@way.log_in_again}}|' "$tmp/t/templates/lang/nl.txt"
expect_fail "a catalog text that includes another key" 'nl\.txt:[0-9]+: way\.none: only'

[ "$fails" = 0 ] || { echo "$fails check(s) failed" >&2; exit 1; }
echo "test_lang_keys: all checks passed"
