#!/usr/bin/env bash
# What a vendor really does to a directory of care providers (issue 14 §4),
# each named by `tenants validate` and by the relay's own load: a URA used
# twice, a symbolic link out of the directory (and one that dangles), a
# provider saved as .yml (loaded), .YAML (refused), backups and notes (a
# warning each), a file above 1 MiB, an unclosed quote (its own line), and
# the lines grouped by file with a per-file summary on stderr.
source "$(dirname "$0")/lib.sh"
zr_pki
P=$ZR_PKI
U1=11111111-1111-4111-8111-111111111111
U2=22222222-2222-4222-8222-222222222222
U4=44444444-4444-4444-8444-444444444444
DV1=00000009999999999001
DV2=00000009999999999002
DV3=00000009999999999003
DV4=00000009999999999004

# provider FILE ID OIN INDEX UUID CERT KEY [URA]
provider() {
  {
    echo "# care provider $2"
    echo "id: $2"
    echo "entity_id: urn:nl-eid-gdi:1.0:DV:$3:entities:$4"
    echo "oin: \"$3\""
    [ -n "${8:-}" ] && echo "ura: \"$8\""
    echo "services:"
    echo "  - loa: substantial"
    echo "    service_uuid: $5"
    echo "bsn_keys:"
    echo "  - cert: $6"
    echo "    key: $7"
  } >"$1"
}

# --- validate: one batch with every mistake.
B=$ZR_TMP/batch
mkdir -p "$B/versions" "$ZR_TMP/elsewhere/keys"
provider "$B/a.yaml" a $DV1 9001 $U1 "$P/dv-bsn-1.pem" "$P/dv-bsn-1.key" 12345678
# b: a's URA, and a key of another certificate (two lines, in line order).
provider "$B/b.yaml" b $DV2 9002 $U2 "$P/dv2-bsn-1.pem" "$P/dv-bsn-1.key" 12345678
# c, saved as .yml: loaded (its ServiceUUID is a's, so it has a line).
provider "$B/c.yml" c $DV3 9003 $U1 "$P/dv3-bsn-1.pem" "$P/dv3-bsn-1.key"
# d: a link to a file elsewhere whose relative key paths mean "next to me".
cp "$P/dv4-bsn-1.pem" "$P/dv4-bsn-1.key" "$ZR_TMP/elsewhere/keys/"
provider "$ZR_TMP/elsewhere/d.yaml" d $DV4 9004 $U4 keys/dv4-bsn-1.pem keys/dv4-bsn-1.key
ln -s "$ZR_TMP/elsewhere/d.yaml" "$B/d.yaml"
# e: a link to a versioned file inside the directory: loaded.
provider "$B/versions/e-2.yaml" e $DV4 9005 $U4 "$P/dv4-bsn-1.pem" "$P/dv4-bsn-1.key"
ln -s versions/e-2.yaml "$B/e.yaml"
# f: an unclosed quote on line 3; libyaml notices at the end (line 5).
printf '# care provider f\nid: f\nname: "Zorg F\nentity_id: urn:nl-eid-gdi:1.0:DV:%s:entities:9006\n' $DV1 >"$B/f.yaml"
ln -s missing.yaml "$B/gone.yaml"
{ echo "id: big"; head -c 1048592 /dev/zero | tr '\0' '#'; } >"$B/big.yaml"   # 1048600 bytes
cp "$B/a.yaml" "$B/G.YAML"
cp "$B/a.yaml" "$B/a.yaml~"
cp "$B/a.yaml" "$B/a.yaml.bak"
echo "notes" >"$B/notes.txt"
cp "$B/a.yaml" "$B/.a.yaml.swp"   # hidden: an editor's, passed over in silence

REAL_TMP=$(realpath "$ZR_TMP")
rc=0; out=$("$ZR_BIN" tenants validate "$B" --ca "$P/ca.pem" 2>"$ZR_TMP/validate.err") || rc=$?
copy="warning: not loaded: care provider files end in .yaml or .yml (a backup or editor copy? move it out of the directory)"
expected="$B/G.YAML: care provider files end in .yaml or .yml, in lower case; rename it or move it out of the directory
$B/a.yaml.bak: $copy
$B/a.yaml~: $copy
$B/b.yaml:5: ura: URA 12345678 is also used by $B/a.yaml:5
$B/b.yaml:10: bsn_keys[0]: the private key $P/dv-bsn-1.key does not belong to the certificate $P/dv2-bsn-1.pem
$B/big.yaml: 1048600 bytes; a care provider file is at most 1 MiB (1048576 bytes)
$B/c.yml:5: services[0].service_uuid: ServiceUUID $U1 is also used by $B/a.yaml:6
$B/d.yaml: a symbolic link to $REAL_TMP/elsewhere/d.yaml, which is outside the directory; copy or move the file into the directory (relative paths resolve against the directory, not against the target's)
$B/f.yaml:3: YAML syntax error: unclosed quote: found unexpected end of stream at line 5 (while scanning a quoted scalar that starts here)
$B/gone.yaml: a symbolic link to missing.yaml, which does not exist
$B/notes.txt: warning: not loaded: not a care provider file (*.yaml, *.yml)"
zr_check "validate: exit 1" "$rc" "1"
zr_check "validate: every mistake named, grouped by file" "$out" "$expected"
zr_check "validate: per-file summary and total on stderr" "$(cat "$ZR_TMP/validate.err")" \
"$B/G.YAML: 1 error(s), 0 warning(s)
$B/a.yaml.bak: 0 error(s), 1 warning(s)
$B/a.yaml~: 0 error(s), 1 warning(s)
$B/b.yaml: 2 error(s), 0 warning(s)
$B/big.yaml: 1 error(s), 0 warning(s)
$B/c.yml: 1 error(s), 0 warning(s)
$B/d.yaml: 1 error(s), 0 warning(s)
$B/f.yaml: 1 error(s), 0 warning(s)
$B/gone.yaml: 1 error(s), 0 warning(s)
$B/notes.txt: 0 error(s), 1 warning(s)
$B: 5 care provider(s), 8 error(s), 3 warning(s) (environment development)"
# "DIR/" as typed: the same names, no "//".
rc=0; out2=$("$ZR_BIN" tenants validate "$B/" --ca "$P/ca.pem" 2>/dev/null) || rc=$?
zr_check "validate DIR/: same lines" "$out2" "$expected"

# A clean batch prints nothing on stdout, and its total on stderr.
G=$ZR_TMP/good
mkdir -p "$G"
provider "$G/a.yml" a $DV1 9001 $U1 "$P/dv-bsn-1.pem" "$P/dv-bsn-1.key" 12345678
rc=0; out=$("$ZR_BIN" tenants validate "$G" --ca "$P/ca.pem" 2>"$ZR_TMP/good.err") || rc=$?
zr_check "validate clean .yml batch: exit 0" "$rc" "0"
zr_check "validate clean .yml batch: stdout empty" "$out" ""
zr_check "validate clean .yml batch: total on stderr" "$(cat "$ZR_TMP/good.err")" \
  "$G: 1 care provider(s), 0 error(s), 0 warning(s) (environment development)"

# --- the relay's load (check-config = serve/reload) names the same.
zr_start_redis
zr_write_config
D=$ZR_TMP/providers
mkdir -p "$D"
sed -n '/^care_providers:/,/^oidc:/p' "$ZR_CONFIG" | sed -e '1d' -e '$d' -e 's/^  - //' -e 's/^    //' >"$D/demo.yaml"
sed -e '/^care_providers:/,/^oidc:/{/^oidc:/!d}' -e 's/^oidc:/care_providers_dir: providers\n\noidc:/' \
  "$ZR_CONFIG" >"$ZR_TMP/dir.yaml"
C=$ZR_TMP/dir.yaml
provider "$D/second.yml" second $DV2 9002 $U2 "$P/dv2-bsn-1.pem" "$P/dv2-bsn-1.key" 12345678
rc=0; msg=$("$ZR_BIN" check-config "$C" 2>&1) || rc=$?
zr_check "relay load: .yml loaded" "$rc:$msg" "0:$C: OK (2 care provider(s), 2 client(s), environment development)"

provider "$D/third.yaml" third $DV3 9003 $U4 "$P/dv3-bsn-1.pem" "$P/dv3-bsn-1.key" 12345678
rc=0; msg=$("$ZR_BIN" check-config "$C" 2>&1) || rc=$?
zr_check "relay load: duplicate URA refused" "$rc:$msg" "1:$D/third.yaml:5: ura: URA 12345678 is also used by $D/second.yml:5"
rm "$D/third.yaml"

# With care_providers_on_error: refuse (R) these refuse the configuration;
# by default they quarantine the one provider (known by its file's name)
# and the others serve: check-config exits 3.
R=$ZR_TMP/dir-refuse.yaml
{ cat "$C"; echo "care_providers_on_error: refuse"; } >"$R"
ln -s "$ZR_TMP/elsewhere/d.yaml" "$D/link.yaml"
LINK_WHY="$D/link.yaml: a symbolic link to $REAL_TMP/elsewhere/d.yaml, which is outside the directory; copy or move the file into the directory (relative paths resolve against the directory, not against the target's)"
rc=0; msg=$("$ZR_BIN" check-config "$R" 2>&1) || rc=$?
zr_check "relay load (refuse): link out of the directory refused" "$rc:$msg" "1:$LINK_WHY"
rc=0; msg=$("$ZR_BIN" check-config "$C" 2>&1) || rc=$?
zr_check "relay load: link out of the directory quarantines it alone" "$rc:$msg" \
  "3:$C: care provider link would be quarantined (its file is a symbolic link that cannot be used):
  $LINK_WHY
$C: OK with 1 of 3 care provider(s) quarantined (2 client(s), environment development)"
rm "$D/link.yaml"

printf 'id: x\nname: "X\n' >"$D/x.yaml"
QUOTE_WHY="$D/x.yaml:2: YAML syntax error: unclosed quote: found unexpected end of stream at line 3 (while scanning a quoted scalar that starts here)"
rc=0; msg=$("$ZR_BIN" check-config "$R" 2>&1) || rc=$?
zr_check "relay load (refuse): unclosed quote on its line" "$rc:$msg" "1:$QUOTE_WHY"
rc=0; msg=$("$ZR_BIN" check-config "$C" 2>&1) || rc=$?
zr_check "relay load: unclosed quote quarantines it alone, on its line" "$rc:$msg" \
  "3:$C: care provider x would be quarantined (YAML syntax error in its file):
  $QUOTE_WHY
$C: OK with 1 of 3 care provider(s) quarantined (2 client(s), environment development)"
rm "$D/x.yaml"

cp "$D/demo.yaml" "$D/demo.yaml~"
echo notes >"$D/notes.txt"
rc=0; msg=$("$ZR_BIN" check-config "$C" 2>&1) || rc=$?
zr_check "relay load: files not loaded: still OK" "$rc:$(echo "$msg" | tail -1)" \
  "0:$C: OK (2 care provider(s), 2 client(s), environment development)"
zr_check "relay load: files not loaded: one warning naming them" \
  "$(echo "$msg" | grep -c "warn.*care_providers_dir=$D: 2 file(s) not loaded (care provider files end in .yaml or .yml): demo.yaml~, notes.txt$")" "1"

# --- a running relay: serve loads the .yml provider and names the files it
# passes over; a reload with a duplicate URA is refused.
sed -i "s#^care_providers_dir: providers#care_providers_dir: providers\npid_file: $ZR_TMP/relay.pid#" "$C"
ZR_CONFIG=$C
zr_start_relay
zr_check "serve: files not loaded named in the log" \
  "$(grep -c "care_providers_dir=$D: 2 file(s) not loaded (care provider files end in .yaml or .yml): demo.yaml~, notes.txt$" "$ZR_TMP/relay.log")" "1"
provider "$D/third.yaml" third $DV3 9003 $U4 "$P/dv3-bsn-1.pem" "$P/dv3-bsn-1.key" 12345678
rc=0; out=$("$ZR_BIN" reload "$C" 2>&1) || rc=$?
zr_check "reload with a duplicate URA: refused" "$rc" "1"
zr_check "reload with a duplicate URA: named" \
  "$(echo "$out" | grep -c "^$D/third.yaml:5: ura: URA 12345678 is also used by $D/second.yml:5$")" "1"
sed -i 's/^ura: "12345678"$/ura: "12345679"/' "$D/third.yaml"
rc=0; out=$("$ZR_BIN" reload "$C" 2>&1) || rc=$?
zr_check "reload with the URA corrected: ok" "$rc:$(echo "$out" | grep -c '^relay: ok: generation 2')" "0:1"
zr_check "relay log: 3 care providers in generation 2" \
  "$(grep -c 'generation 2 in use: 3 care providers (1 added' "$ZR_TMP/relay.log")" "1"

zr_done
