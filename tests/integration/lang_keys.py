#!/usr/bin/env python3
"""lang_keys.py ROOT: the string catalogs (ROOT/templates/lang/<code>.txt)
against what uses them (issue 18 §5, docs/pages.md). Fails (exit 1, one
line per finding) when
  (a) a key a template uses ({{@key}}, {{=var @key}}) or C uses (a string
      literal that is a key of a catalog prefix: zr_lang_text(lang, "k"),
      a reason or label key) is missing in any catalog;
  (b) a catalog key is used by nothing: no template, no C literal, and no
      dynamic family below whose variable part is a string literal in src/;
  (c) the catalogs do not all have the same keys (nl is the reference);
  and when a catalog text holds {{@...}}, {{>...}} or {{=...}} (only {{var}}).

Dynamic families: keys C builds at run time from a code. The code must be a
string literal somewhere in src/ (so a key whose code nothing can produce
is unused):
  errors.<code>.title / .text       zr_page_error(..., "code", ...)
  preprod.reason.<code>             zr_preprod_reason_set(..., "code", ...)
  preprod.<kind>.title / .steps     the scenario kinds (server.c kind_key)
  preprod.status.<name>             zr_preprod_status_name
  trace.kind.<kind>                 the trace's event kinds (lower-cased)
"""
import os
import re
import sys

FAMILIES = [
    re.compile(r'^errors\.([a-z0-9_]+)\.(title|text)$'),
    re.compile(r'^preprod\.reason\.([a-z0-9_]+)$'),
    re.compile(r'^preprod\.([a-z0-9-]+)\.(title|steps)$'),
    re.compile(r'^preprod\.status\.([a-z0-9_]+)$'),
    re.compile(r'^trace\.kind\.([a-z0-9_.]+)$'),
]
KEY_RE = re.compile(r'^[a-z0-9_.-]+$')


def parse_catalog(path):
    keys = {}
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith('#'):
                continue
            k, _, v = s.partition('=')
            keys[k.strip()] = (n, v.strip())
    return keys


def c_literals(src):
    """Every string literal in src/*.c and *.h, and the catalog keys C uses
    directly (key -> 'file:line')."""
    lits, keys = set(), {}
    for dirpath, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding='utf-8', errors='replace') as f:
                text = f.read()
            text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
            for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
                lits.add(m.group(1))
            rel = os.path.relpath(path, os.path.dirname(src))
            for m in re.finditer(r'\b(?:zr_lang_text|zr_page_text|zr_lang_has)\s*\(([^;]*)|'
                                 r'\.label_key\s*=\s*("[^"]*")|'
                                 r'show_refusal\(resp, [^,]+, [^,]+, [^,]+,\s*("[^"]*")', text):
                line = text.count('\n', 0, m.start()) + 1
                for lit in re.findall(r'"([^"]*)"', m.group(1) or m.group(2) or m.group(3)):
                    if KEY_RE.match(lit) and '.' in lit:
                        keys.setdefault(lit, f'{rel}:{line}')
    return lits, keys


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    tdir = os.path.join(root, 'templates')
    ldir = os.path.join(tdir, 'lang')
    bad = []
    cats = {}
    for name in sorted(os.listdir(ldir)):
        if name.endswith('.txt'):
            cats[name[:-4]] = parse_catalog(os.path.join(ldir, name))
    if 'nl' not in cats:
        print('lang_keys: no templates/lang/nl.txt (the reference)')
        return 1
    ref = cats['nl']
    # (c) the same keys everywhere
    for code, keys in cats.items():
        for k in sorted(set(ref) - set(keys)):
            bad.append(f'templates/lang/{code}.txt: key {k} missing (nl.txt:{ref[k][0]} has it)')
        for k in sorted(set(keys) - set(ref)):
            bad.append(f'templates/lang/{code}.txt:{keys[k][0]}: key {k} is not in nl.txt')
        for k, (n, v) in keys.items():
            if re.search(r'\{\{\s*[@>=]', v):
                bad.append(f'templates/lang/{code}.txt:{n}: {k}: only {{{{var}}}} may be used in a catalog text')
    all_keys = set()
    for keys in cats.values():
        all_keys |= set(keys)
    prefixes = {k.split('.', 1)[0] for k in all_keys}

    # what templates use
    used = {}
    for name in sorted(os.listdir(tdir)):
        if not name.endswith('.html'):
            continue
        with open(os.path.join(tdir, name), encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                for m in re.finditer(r'\{\{\s*@\s*([^}\s]+)\s*\}\}|\{\{=[a-z0-9_-]+\s+@([^}\s]+)\s*\}\}', line):
                    used.setdefault(m.group(1) or m.group(2), f'templates/{name}:{n}')
    # what C uses: the literal keys it passes to zr_lang_text, zr_page_text
    # and zr_lang_has, names as a professional's label_key and gives the
    # mocks' show_refusal as the reason
    lits, c_keys = c_literals(os.path.join(root, 'src'))
    for k, where in c_keys.items():
        used.setdefault(k, where)
    # (a) every used key in every catalog
    for k, where in sorted(used.items()):
        for code, keys in cats.items():
            if k not in keys:
                bad.append(f'{where}: key {k} missing in templates/lang/{code}.txt')
    # (b) every key used
    lower_lits = {x.lower() for x in lits}
    for k in sorted(ref):
        if k == 'lang.name' or k in used:
            continue
        fam = next((f.match(k) for f in FAMILIES if f.match(k)), None)
        if fam and (fam.group(1) in lits or fam.group(1) in lower_lits):
            continue
        bad.append(f'templates/lang/nl.txt:{ref[k][0]}: key {k} is used by no template, no C literal and no family')
    for line in bad:
        print(line)
    if not bad:
        print(f'lang_keys: {len(ref)} keys, {len(cats)} catalogs ({", ".join(sorted(cats))}), '
              f'{len(used)} used directly; all complete and used')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
