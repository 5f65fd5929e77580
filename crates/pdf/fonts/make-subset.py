#!/usr/bin/env python3
"""Makes the embedded font subsets of Noto Sans CJK SC (SIL OFL 1.1).

Source: Debian's `fonts-noto-cjk` (/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc, face 2 is
"Noto Sans CJK SC"). Needs fonttools (`pip install fonttools`). Run from anywhere:

    python3 crates/pdf/fonts/make-subset.py

Regular (all data is printed in it): ASCII + Latin-1, general punctuation, CJK symbols and
full-width forms, every character of GB 2312 and of Big5 (symbols and hanzi), and the whole CJK
Unified Ideographs block U+4E00-U+9FFF (20,992 hanzi, which covers GBK, so the rarer name
characters such as 堃, 喆, 镕 print too). Only CJK Extension A/B and later are missing: the library
reports such characters (`Pdf::missing_chars`).
Bold (titles, headings and table headers only, all fixed labels): GB 2312 and the symbols.
Hinting is dropped (print only); only the layout features Typst uses for Chinese are kept.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = "/usr/share/fonts/opentype/noto"
FACE_SC = 2  # index of "Noto Sans CJK SC" in the collection


def decode_range(codec, lead, trail):
    out = set()
    for a in lead:
        for b in trail:
            try:
                out.update(bytes([a, b]).decode(codec))
            except UnicodeDecodeError:
                pass
    return out


def charset(full):
    """full: the Regular set; otherwise the Bold set."""
    chars = set(chr(c) for c in range(0x20, 0x7F))
    chars |= set(chr(c) for c in range(0xA0, 0x100))
    chars |= set(chr(c) for c in range(0x2010, 0x2070))  # general punctuation
    chars |= set(chr(c) for c in range(0x2100, 0x2200))  # letterlike, number forms, arrows
    chars |= set(chr(c) for c in range(0x2460, 0x24F0))  # enclosed alphanumerics ①
    chars |= set(chr(c) for c in range(0x3000, 0x3040))  # CJK symbols and punctuation
    chars |= set(chr(c) for c in range(0xFF00, 0xFFF0))  # full-width forms
    # GB 2312: rows 0xA1-0xF7, cells 0xA1-0xFE.
    chars |= decode_range("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
    if not full:
        return "".join(sorted(chars))
    # Big5 symbols (0xA140-0xA3BF) and hanzi (level 1 from 0xA440, level 2 to 0xF9D5).
    trail = list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF))
    big5 = decode_range("big5", range(0xA1, 0xA4), trail)
    big5 |= set(c for c in decode_range("big5", range(0xA4, 0xFA), trail) if "\u4e00" <= c <= "\u9fff")
    chars |= big5
    chars |= set(chr(c) for c in range(0x4E00, 0xA000))
    return "".join(sorted(chars))


def main():
    for weight, full in (("Regular", True), ("Bold", False)):
        text = charset(full)
        text_file = os.path.join(HERE, f"charset-{weight}.txt")
        with open(text_file, "w", encoding="utf-8") as f:
            f.write(text)
        out = os.path.join(HERE, f"NotoSansSC-{weight}-subset.otf")
        cmd = [
            "pyftsubset", os.path.join(SRC, f"NotoSansCJK-{weight}.ttc"),
            f"--font-number={FACE_SC}",
            f"--text-file={text_file}",
            "--layout-features=ccmp,kern,liga,palt,halt",
            "--no-hinting",
            "--name-IDs=*",
            "--name-languages=*",
            f"--output-file={out}",
        ]
        subprocess.run(cmd, check=True)
        print(f"{out}: {os.path.getsize(out):,} bytes, {len(text):,} characters")


if __name__ == "__main__":
    sys.exit(main())
