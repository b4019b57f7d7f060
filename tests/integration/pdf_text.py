#!/usr/bin/env python3
"""The text of a PDF as Chromium (Skia) writes it, page by page, without
poppler: each page's content streams are inflated, the text-showing
operators (Tj, TJ, after Tf) decoded with their font's /ToUnicode map.
Enough for the reports Chromium prints here (no object streams, no
encrypted files); not a general PDF reader.

Usage: pdf_text.py --has-text FILE.pdf   -> "yes" or what is missing
       pdf_text.py --pages FILE.pdf      -> one line per page: its text
"""
import re
import sys
import zlib


def objects(data):
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}


def stream_of(obj):
    m = re.search(rb"stream\r?\n(.*?)\r?\nendstream", obj, re.S)
    if not m:
        return b""
    raw = m.group(1)
    if b"/FlateDecode" in obj.split(b"stream", 1)[0]:
        try:
            return zlib.decompress(raw)
        except zlib.error:
            return zlib.decompressobj().decompress(raw)
    return raw


def ref(value):
    m = re.match(rb"\s*(\d+) 0 R", value)
    return int(m.group(1)) if m else None


def unicode_map(cmap):
    """bfchar and bfrange entries of a ToUnicode CMap: glyph code -> text."""
    out = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, rest in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]+>)", block):
            lo, hi = int(lo, 16), int(hi, 16)
            if rest.startswith(b"["):
                for i, dst in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", rest)):
                    out[lo + i] = bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
            else:
                base = int(rest[1:-1], 16)
                for i in range(hi - lo + 1):
                    out[lo + i] = chr(base + i)
    return out


def page_text(objs, page, cmaps):
    fonts = {}
    res = page
    r = re.search(rb"/Resources\s+(\d+) 0 R", page)
    if r:
        res = objs.get(int(r.group(1)), b"")
    f = re.search(rb"/Font\s*<<(.*?)>>", res, re.S)
    for name, num in re.findall(rb"/(\w+)\s+(\d+) 0 R", f.group(1) if f else b""):
        font = objs.get(int(num), b"")
        tu = re.search(rb"/ToUnicode\s+(\d+) 0 R", font)
        if tu:
            n = int(tu.group(1))
            if n not in cmaps:
                cmaps[n] = unicode_map(stream_of(objs.get(n, b"")))
            fonts[name] = cmaps[n]
    contents = re.search(rb"/Contents\s+(\[[^\]]*\]|\d+ 0 R)", page)
    nums = [int(n) for n in re.findall(rb"(\d+) 0 R", contents.group(1))] if contents else []
    text, cmap = [], {}
    for n in nums:
        ops = stream_of(objs.get(n, b""))
        for m in re.finditer(rb"/(\w+)\s+[\d.]+\s+Tf|(<[0-9A-Fa-f]*>)\s*Tj|\[((?:[^\]]|\n)*?)\]\s*TJ|\bET\b", ops):
            if m.group(1):
                cmap = fonts.get(m.group(1), {})
                continue
            if m.group(0) == b"ET":
                text.append(" ")
                continue
            strings = [m.group(2)] if m.group(2) else re.findall(rb"<[0-9A-Fa-f]*>", m.group(3))
            for s in strings:
                hexs = s[1:-1].decode()
                for i in range(0, len(hexs) - 3, 4):
                    text.append(cmap.get(int(hexs[i:i + 4], 16), ""))
    return re.sub(r"\s+", " ", "".join(text)).strip()


def pages(data):
    objs = objects(data)
    root = re.search(rb"/Type\s*/Pages\b(.*?)$", b"", re.S)
    order = []
    # The page tree, from the catalogue's /Pages, in /Kids order.
    cat = next((v for v in objs.values() if re.search(rb"/Type\s*/Catalog\b", v)), b"")
    todo = [ref(re.search(rb"/Pages\s+(\d+ 0 R)", cat).group(1))] if re.search(rb"/Pages\s+\d+ 0 R", cat) else []
    while todo:
        n = todo.pop(0)
        obj = objs.get(n, b"")
        if re.search(rb"/Type\s*/Pages\b", obj):
            kids = re.search(rb"/Kids\s*\[([^\]]*)\]", obj)
            todo = [int(k) for k in re.findall(rb"(\d+) 0 R", kids.group(1))] + todo if kids else todo
        elif re.search(rb"/Type\s*/Page\b", obj):
            order.append(n)
    del root
    cmaps = {}
    return [page_text(objs, objs[n], cmaps) for n in order]


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("--has-text", "--pages"):
        print(__doc__, file=sys.stderr)
        return 2
    data = open(sys.argv[2], "rb").read()
    if not data.startswith(b"%PDF-"):
        print("not a PDF")
        return 1
    texts = pages(data)
    if sys.argv[1] == "--pages":
        for t in texts:
            print(t)
        return 0
    if not texts:
        print("no pages")
    elif not any(texts):
        print("no text on any page")
    else:
        print("yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
