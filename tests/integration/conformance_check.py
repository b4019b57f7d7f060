#!/usr/bin/env python3
"""Issue 17 §6: keeps docs/conformance.md true to the NL GOV OpenID Connect
profile (tests/data/oidc-nlgov/, a verbatim copy) and to this repository.

  conformance_check.py [--spec DIR] [--root DIR] STATEMENT   check; exit 1 on a finding
  conformance_check.py --list [--spec DIR]                   the spec's normative statements

Checks, each finding printed as FILE:LINE: reason:
  (a) every normative sentence (a BCP 14 keyword in capitals) of the spec
      files has exactly one row per keyword, under an id derived from the
      section and a hash of the sentence, so a changed sentence has no row any
      more (and its old row names an id the spec no longer has);
  (b) every row's evidence names files that exist, each with a string (a
      check's name, a function) that occurs in that file; a row whose evidence
      holds no test says "no test";
  (c) the summary table's counts equal the rows, and the list of MUST-level
      gaps names exactly the MUST, MUST NOT and REQUIRED rows answered
      partly, deviation or not yet.
"""
import argparse
import collections
import hashlib
import os
import re
import sys

# ProviderProfile.md is the provider's part; the others hold statements for
# the provider too (conformance, flow, claims, security), and their Client-only
# sentences get rows as well (answered n/a), so that none is left out unseen.
SPEC_FILES = [("IN", "Introduction.md"), ("UC", "UseCase.md"), ("FL", "Flow.md"), ("PP", "ProviderProfile.md"),
              ("UI", "UserInfo.md"), ("CO", "Considerations.md")]
# Longest first, so "MUST NOT" is not read as "MUST".
KEYWORDS = ["MUST NOT", "SHALL NOT", "SHOULD NOT", "NOT RECOMMENDED", "MUST", "REQUIRED", "SHALL",
            "SHOULD", "RECOMMENDED", "MAY", "OPTIONAL"]
# A keyword in quotes is named, not used (RFC 2119's own boilerplate sentence).
KEYWORD_RE = re.compile(r'(?<!")\b(' + "|".join(k.replace(" ", r"\s+") for k in KEYWORDS) + r')\b(?!")')
ANSWERS = ["done", "partly", "deviation", "n/a", "not yet"]
SUMMARY_BEGIN, SUMMARY_END = "<!-- summary:begin -->", "<!-- summary:end -->"
GAPS_BEGIN, GAPS_END = "<!-- gaps:begin -->", "<!-- gaps:end -->"
ABSOLUTE = ("MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT")
ROW_ID = r"[A-Z]{2}-[a-z0-9-]+-[0-9a-f]{6}x*(?:\.\d+)?"


def slug(title):
    s = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return s[:32].rstrip("-")


def sentences(text):
    """Sentences of one paragraph or list item; 'e.g.' and 'i.e.' do not end one."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z`\[*_(\"'])", text)
    out = []
    for p in parts:
        if out and re.search(r"\b(e\.g|i\.e|etc|cf)\.$", out[-1]):
            out[-1] += " " + p
        else:
            out.append(p)
    return [s.strip() for s in out if s.strip()]


def blocks(path):
    """(line, section, term, text) for every paragraph and list item outside
    examples (<aside>, <pre>, <figure>, HTML comments)."""
    section, term = "", ""
    cur, cur_line = [], 0
    skip = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")

    def flush():
        nonlocal cur
        if cur:
            yield (cur_line, section, term, " ".join(cur))
        cur = []

    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if skip:
            if skip in line:
                skip = None
            continue
        for opener, closer in (("<aside", "</aside>"), ("<pre", "</pre>"), ("<figure", "</figure>"),
                               ("<!--", "-->")):
            if line.startswith(opener):
                yield from flush()
                if closer not in line:
                    skip = closer
                break
        else:
            if line.startswith("#"):
                yield from flush()
                section, term = line.lstrip("#").strip(), ""
            elif re.fullmatch(r"`[^`]+`(\s*(,|\*or\*)\s*`[^`]+`)*", line):
                yield from flush()
                term = line
            elif not line:
                yield from flush()
            else:
                line = re.sub(r"^>\s*", "", line)
                if re.match(r"^(- |\d+\. )", line):
                    yield from flush()
                    line = re.sub(r"^(- |\d+\. )", "", line)
                elif not cur:
                    term = ""  # a paragraph after a term's list items is no longer about the term
                if not cur:
                    cur_line = n
                cur.append(line)
    yield from flush()


def normalise(s):
    return re.sub(r"\s+", " ", s).strip()


def spec_statements(spec_dir):
    """Ordered dict id -> (file, line, section, term, keyword, sentence)."""
    out = collections.OrderedDict()
    for prefix, name in SPEC_FILES:
        path = os.path.join(spec_dir, name)
        for line, section, term, text in blocks(path):
            for sent in sentences(text):
                kws = [re.sub(r"\s+", " ", m.group(1)) for m in KEYWORD_RE.finditer(sent)]
                if not kws:
                    continue
                base_input = "\n".join([name, section, term, normalise(sent)])
                base = "%s-%s-%s" % (prefix, slug(section), hashlib.sha256(base_input.encode()).hexdigest()[:6])
                while base in out or base + ".1" in out:
                    base += "x"  # the same sentence twice in one place
                for i, kw in enumerate(kws, 1):
                    sid = base if len(kws) == 1 else "%s.%d" % (base, i)
                    out[sid] = (name, line, section, term, kw, normalise(sent))
    return out


def split_row(line):
    # Cells are split on "|" not inside backticks (a check name may hold one).
    cells, cur, tick = [], "", False
    for ch in line.strip().strip("|"):
        if ch == "`":
            tick = not tick
        if ch == "|" and not tick:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
    cells.append(cur.strip())
    return cells


def answer_of(cell):
    m = re.match(r"\*\*(done|partly|deviation|n/a|not yet)\*\*", cell)
    return m.group(1) if m else None


EVIDENCE_RE = re.compile(r"`(?P<path>(?:src|tests|include|docs|templates|examples|scripts)/[\w./-]+)`"
                         r"(?P<needles>(?:\s*:\s*(?:\"[^\"]+\"|`[^`]+`)(?:\s*,\s*(?:\"[^\"]+\"|`[^`]+`))*)?)")
NEEDLE_RE = re.compile(r"\"([^\"]+)\"|`([^`]+)`")


def check(statement, spec_dir, root):
    findings = []

    def bad(line, msg):
        findings.append("%s:%d: %s" % (statement, line, msg))

    try:
        spec = spec_statements(spec_dir)
        with open(statement, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as e:
        bad(1, "cannot read: %s" % e)
        return findings

    rows = collections.OrderedDict()
    summary, in_summary, summary_line = {}, False, 0
    gaps, in_gaps, gaps_line = {}, False, 0
    for n, line in enumerate(lines, 1):
        if line.strip() == GAPS_BEGIN:
            in_gaps, gaps_line = True, n
            continue
        if line.strip() == GAPS_END:
            in_gaps = False
            continue
        if in_gaps:
            for gid in re.findall(r"`(%s)`" % ROW_ID, line):
                gaps.setdefault(gid, n)
            continue
        if line.strip() == SUMMARY_BEGIN:
            in_summary, summary_line = True, n
            continue
        if line.strip() == SUMMARY_END:
            in_summary = False
            continue
        if not line.startswith("|"):
            continue
        cells = split_row(line)
        if in_summary:
            if cells[0].strip("*") in KEYWORDS + ["total"]:
                summary[cells[0].strip("*")] = (n, cells[1:])
            continue
        m = re.fullmatch(r"`(%s)`" % ROW_ID, cells[0])
        if not m:
            continue
        rid = m.group(1)
        if len(cells) != 6:
            bad(n, "row %s: %d cells, want 6 (id, section, keyword, requirement, answer, evidence)"
                % (rid, len(cells)))
            continue
        if rid in rows:
            bad(n, "row %s: a second row for the same statement (first at line %d)" % (rid, rows[rid][0]))
            continue
        rows[rid] = (n, cells)

    # (a) one row per normative statement, and no row for a statement the spec no longer has
    for sid, (name, sline, section, term, kw, sent) in spec.items():
        if sid not in rows:
            bad(len(lines), "no row for %s (%s:%d, %s%s, %s): \"%s\""
                % (sid, name, sline, section, " " + term if term else "", kw, sent))
    for rid, (n, cells) in rows.items():
        if rid not in spec:
            bad(n, "row %s: no such normative statement in the spec (changed or removed sentence?)" % rid)
            continue
        kw = spec[rid][4]
        if cells[2].strip("*") != kw:
            bad(n, "row %s: keyword %s, the spec's is %s" % (rid, cells[2], kw))

    # (b) answers and evidence
    counts = collections.Counter()
    for rid, (n, cells) in rows.items():
        ans = answer_of(cells[4])
        if not ans:
            bad(n, "row %s: answer must start with one of %s" % (rid, ", ".join("**%s**" % a for a in ANSWERS)))
            continue
        if ans == "not yet" and not re.search(r"issue \d+ §\d+", cells[4]):
            bad(n, "row %s: a \"not yet\" names the issue and section that will do it (issue N §M)" % rid)
        if ans in ("deviation", "n/a", "partly") and len(re.sub(r"\*\*[^*]+\*\*:?", "", cells[4]).strip()) < 8:
            bad(n, "row %s: %s without a reason" % (rid, ans))
        ev = cells[5]
        items = list(EVIDENCE_RE.finditer(ev))
        tested = False
        for it in items:
            path = it.group("path")
            full = os.path.join(root, path)
            if not os.path.isfile(full):
                bad(n, "row %s: evidence %s: no such file" % (rid, path))
                continue
            needles = [a or b for a, b in NEEDLE_RE.findall(it.group("needles"))]
            if not needles:
                bad(n, "row %s: evidence %s names no check or code place in it" % (rid, path))
                continue
            with open(full, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for needle in needles:
                if needle not in text:
                    bad(n, "row %s: evidence %s: \"%s\" does not occur in it" % (rid, path, needle))
            if path.startswith("tests/"):
                tested = True
        if ans in ("done", "partly", "deviation"):
            if not items:
                bad(n, "row %s: %s without evidence (a test, or a code place and \"no test\")" % (rid, ans))
            elif not tested and "no test" not in ev:
                bad(n, "row %s: evidence names no test and does not say \"no test\"" % rid)
        if tested and "no test" in ev:
            bad(n, "row %s: says \"no test\" but names one" % rid)
        counts[(spec[rid][4] if rid in spec else cells[2].strip("*"), ans)] += 1

    # (c) the list of MUST-level gaps equals the rows
    if not gaps_line:
        bad(1, "no list of MUST-level gaps between %s and %s" % (GAPS_BEGIN, GAPS_END))
    else:
        for rid, (n, cells) in rows.items():
            kw, ans = cells[2].strip("*"), answer_of(cells[4])
            if kw in ABSOLUTE and ans in ("partly", "deviation", "not yet") and rid not in gaps:
                bad(gaps_line, "gaps: %s (%s, %s, line %d) is missing" % (rid, kw, ans, n))
        for gid, n in gaps.items():
            if gid not in rows:
                bad(n, "gaps: %s is no row" % gid)
                continue
            kw, ans = rows[gid][1][2].strip("*"), answer_of(rows[gid][1][4])
            if not (kw in ABSOLUTE and ans in ("partly", "deviation", "not yet")):
                bad(n, "gaps: %s is %s, answered %s: not a MUST-level gap" % (gid, kw, ans))

    # (c) the summary equals the rows
    if not summary:
        bad(summary_line or 1, "no summary table between %s and %s" % (SUMMARY_BEGIN, SUMMARY_END))
    for kw in KEYWORDS + ["total"]:
        want = [sum(c for (k, a), c in counts.items() if (kw == "total" or k == kw) and a == ans)
                for ans in ANSWERS]
        want.append(sum(want))
        if kw not in summary:
            if kw == "total" or any(want):
                bad(summary_line or 1, "summary: no line for %s (%d rows)" % (kw, want[-1]))
            continue
        n, cells = summary[kw]
        got = [c.strip("*") for c in cells]
        if len(got) != len(want):
            bad(n, "summary %s: %d counts, want %d (%s, all)" % (kw, len(got), len(want), ", ".join(ANSWERS)))
            continue
        for label, g, w in zip(ANSWERS + ["all"], got, want):
            if g != str(w):
                bad(n, "summary %s / %s: says %s, the rows give %d" % (kw, label, g, w))
    return findings


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--spec", default=os.path.join(here, "..", "data", "oidc-nlgov"))
    ap.add_argument("--root", default=os.path.join(here, "..", ".."))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("statement", nargs="?")
    a = ap.parse_args()
    if a.list:
        for sid, (name, line, section, term, kw, sent) in spec_statements(a.spec).items():
            print("\t".join([sid, "%s:%d" % (name, line), section, term, kw, sent]))
        return 0
    if not a.statement:
        print("usage: conformance_check.py [--spec DIR] [--root DIR] STATEMENT | --list", file=sys.stderr)
        return 2
    findings = check(a.statement, a.spec, a.root)
    for f in findings:
        print(f, file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
