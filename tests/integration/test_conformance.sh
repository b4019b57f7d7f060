#!/usr/bin/env bash
# Issue 17 §6: docs/conformance.md, the relay's answer to every normative
# sentence of the NL GOV OpenID Connect profile, cannot drift:
# conformance_check.py passes it, and fails (exit 1, FILE:LINE: reason) on a
# statement with a row missing, a row twice, a bad evidence file or check
# name, an unsupported answer, wrong counts or gaps, and on a changed
# sentence in the profile.
source "$(dirname "$0")/lib.sh"
CHECK="$ZR_SOURCE_DIR/tests/integration/conformance_check.py"
DOC="$ZR_SOURCE_DIR/docs/conformance.md"
SPEC="$ZR_SOURCE_DIR/tests/data/oidc-nlgov"

out=$($PY "$CHECK" "$DOC" 2>&1; echo "exit=$?")
zr_check "docs/conformance.md passes" "$out" "exit=0"
zr_check "no statement named: usage, exit 2" \
  "$($PY "$CHECK" 2>&1 >/dev/null | head -c 6; $PY "$CHECK" >/dev/null 2>&1; echo " exit=$?")" "usage: exit=2"

# The profile as the check reads it: every keyword sentence, one line each.
$PY "$CHECK" --list > "$ZR_TMP/list.tsv"
zr_check "the profile copy has keyword sentences in every file" \
  "$(cut -f2 "$ZR_TMP/list.tsv" | cut -d: -f1 | sort -u | tr '\n' ' ')" \
  "Considerations.md Flow.md Introduction.md ProviderProfile.md UseCase.md UserInfo.md "
zr_check "RFC 2119's boilerplate (keywords in quotes) is no statement" \
  "$(grep -c 'are to be interpreted as described' "$ZR_TMP/list.tsv" || true)" "0"
zr_check "each keyword of a sentence is its own statement (MUST ... SHOULD NOT)" \
  "$(grep -F 'Cross-Origin Resource Sharing' "$ZR_TMP/list.tsv" | cut -f5 | tr '\n' ' ')" "MUST SHOULD NOT "
zr_check "the statement has one row per listed sentence" \
  "$(grep -c '^| `[A-Z][A-Z]-' "$DOC")" "$(grep -c . "$ZR_TMP/list.tsv")"

# expect NAME STATEMENT REASON [SPEC]: the check refuses STATEMENT with exit 1
# and a FILE:LINE: line containing REASON.
expect() {
  local name=$1 file=$2 reason=$3 spec=${4:-$SPEC} msg rc=0
  msg=$($PY "$CHECK" --spec "$spec" "$file" 2>&1 >/dev/null) || rc=$?
  if grep -qF -- "$reason" <<<"$msg" && grep -qE "^$file:[0-9]+: " <<<"$msg"; then
    zr_check "refused: $name" "$rc" "1"
  else
    zr_check "refused: $name" "rc=$rc $msg" "rc=1 ...$reason..."
  fi
}
# mutate NAME PYTHON-EXPRESSION: a copy of the statement with `s` (its text)
# replaced by the expression's value; the expression must change something.
mutate() {
  $PY - "$DOC" "$ZR_TMP/$1.md" "$2" <<'PYEOF'
import re, sys
s = open(sys.argv[1], encoding="utf-8").read()
t = eval(sys.argv[3])
assert t != s, "mutation changed nothing"
open(sys.argv[2], "w", encoding="utf-8").write(t)
PYEOF
  echo "$ZR_TMP/$1.md"
}
ROW=$(grep -m1 '^| `CO-algorithms-' "$DOC")          # MUST support RS256
ROW_ID=$(cut -d'`' -f2 <<<"$ROW")
NA_ROW=$(grep -m1 '^| `PP-refresh-tokens-' "$DOC")   # an n/a row

f=$(mutate missing "s.replace('''$ROW\n''', '')")
expect "a missing row" "$f" "no row for $ROW_ID"
f=$(mutate twice "s.replace('''$ROW\n''', '''$ROW\n$ROW\n''')")
expect "a row twice" "$f" "row $ROW_ID: a second row"
f=$(mutate badpath "s.replace('tests/unit/test_oidc_provider.c', 'tests/unit/test_oidc_provider_gone.c', 1)")
expect "evidence: a file that does not exist" "$f" "tests/unit/test_oidc_provider_gone.c: no such file"
f=$(mutate badcheck "s.replace('\"plain login: jti present\"', '\"plain login: jti absent\"')")
expect "evidence: a check name the test does not have" "$f" "\"plain login: jti absent\" does not occur in it"
f=$(mutate nocheck "s.replace('\`tests/unit/test_oidc_provider.c\`: \`test_discovery\` |', '\`tests/unit/test_oidc_provider.c\` |', 1)")
expect "evidence: a file without a check name" "$f" "names no check or code place in it"
f=$(mutate notest "s.replace(' (no test) |', ' |', 1)")
expect "evidence: code only, without saying no test" "$f" "evidence names no test and does not say \"no test\""
f=$(mutate noevidence "s.replace('''$ROW''', re.sub(r'\\| [^|]*\\|\$', '| — |', '''$ROW'''))")
expect "done without evidence" "$f" "row $ROW_ID: done without evidence"
f=$(mutate answer "s.replace('''$ROW''', '''$ROW'''.replace('| **done**', '| **yes**'))")
expect "an answer that is no answer" "$f" "row $ROW_ID: answer must start with one of"
f=$(mutate notyet "s.replace('''$ROW''', '''$ROW'''.replace('| **done**: ', '| **not yet**: later; '))")
expect "not yet without the issue that does it" "$f" "names the issue and section"
f=$(mutate reason "s.replace('''$NA_ROW''', re.sub(r'\\*\\*n/a\\*\\*: [^|]*', '**n/a** ', '''$NA_ROW'''))")
expect "n/a without a reason" "$f" "n/a without a reason"
f=$(mutate keyword "s.replace('''$ROW''', '''$ROW'''.replace('| MUST |', '| SHOULD |'))")
expect "a row's keyword differs from the profile's" "$f" "row $ROW_ID: keyword SHOULD, the spec's is MUST"
f=$(mutate count "s.replace('| MUST | ', '| MUST | 1', 1)")
expect "a summary count that is not the rows'" "$f" "summary MUST / done: says 1"
f=$(mutate gapmissing "s.replace('- \`CO-algorithms-', '- CO-algorithms-', 1)")
expect "a MUST-level gap left out of the list" "$f" "is missing"
f=$(mutate gapextra "s.replace('<!-- gaps:end -->', '- \`$ROW_ID\`\n<!-- gaps:end -->')")
expect "a done row listed as a gap" "$f" "gaps: $ROW_ID is MUST, answered done: not a MUST-level gap"

# A changed sentence in the profile: its row no longer matches, both named.
mkdir -p "$ZR_TMP/spec"
cp "$SPEC"/*.md "$ZR_TMP/spec/"
sed -i 's/^- MUST support `RS256`\.$/- MUST support `RS384`./' "$ZR_TMP/spec/Considerations.md"
zr_check "the profile copy was changed" "$(grep -c 'MUST support `RS384`' "$ZR_TMP/spec/Considerations.md")" "1"
expect "a changed profile sentence (its new form has no row)" "$DOC" "no row for CO-algorithms-" "$ZR_TMP/spec"
expect "a changed profile sentence (the old row names it)" "$DOC" \
  "row $ROW_ID: no such normative statement in the spec" "$ZR_TMP/spec"
zr_done
