#!/usr/bin/env python3
"""Does a PDF carry text (not only pictures of it)? Without poppler: the
content streams are inflated and searched for text-showing operators (BT ..
Tj/TJ .. ET), and the fonts for a /ToUnicode map (which lets a reader copy
and search the text). Prints "yes" or what is missing.
Usage: pdf_text.py --has-text FILE.pdf"""
import re
import sys
import zlib


def streams(data):
    for m in re.finditer(rb"stream\r?\n", data):
        start = m.end()
        end = data.find(b"endstream", start)
        if end < 0:
            continue
        raw = data[start:end]
        try:
            yield zlib.decompress(raw)
        except zlib.error:
            try:
                yield zlib.decompressobj().decompress(raw)
            except zlib.error:
                yield raw


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "--has-text":
        print(__doc__, file=sys.stderr)
        return 2
    data = open(sys.argv[2], "rb").read()
    if not data.startswith(b"%PDF-"):
        print("not a PDF")
        return 1
    shows = sum(1 for s in streams(data) if re.search(rb"\bBT\b", s) and re.search(rb"\bT[jJ]\b", s))
    unicode_maps = data.count(b"/ToUnicode") + sum(s.count(b"/ToUnicode") for s in streams(data))
    if not shows:
        print("no text operators")
    elif not unicode_maps:
        print("no /ToUnicode map")
    else:
        print("yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
