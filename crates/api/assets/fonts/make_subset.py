#!/usr/bin/env python3
"""Regenerate the contact card's font subsets from Debian's fonts-noto-cjk.

Usage (from this folder, with `apt-get install fonts-noto-cjk` and `pip install fonttools`):

    python3 make_subset.py /usr/share/fonts/opentype/noto

Writes NotoSansCJKsc-Regular.subset.otf and NotoSansCJKsc-Bold.subset.otf next to this script.
"""

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

HERE = Path(__file__).resolve().parent

# Given-name characters that people in our districts use and GB2312 lacks. Kept short on purpose:
# every addition costs file size, and `card::missing_glyphs` reports anything still missing.
EXTRA_NAME_CHARS = "堃喆昇珺玥镕赟瑄琇璟焜淏頔犇祎琤旻彧"

RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement (·, ×, °)
    (0x2010, 0x2027),  # dashes, quotes, ellipsis
    (0x2030, 0x203B),  # per mille, primes, reference mark
    (0x2460, 0x2473),  # circled numbers ①–⑳
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF01, 0xFF5E),  # full-width ASCII
    (0xFF5F, 0xFFEF),  # half-width and full-width forms
]


def gb2312_chars():
    """Every character of GB2312: 682 symbols (rows 1-9) and 6,763 hanzi (rows 16-87)."""
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                yield bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                pass


def codepoints():
    cps = set()
    for lo, hi in RANGES:
        cps.update(range(lo, hi + 1))
    cps.update(ord(c) for c in gb2312_chars())
    cps.update(ord(c) for c in EXTRA_NAME_CHARS)
    return sorted(cps)


def sc_index(ttc_path):
    """The Simplified Chinese face's index in the collection, found by name, not assumed."""
    for i, font in enumerate(TTCollection(ttc_path).fonts):
        if font["name"].getDebugName(1) == "Noto Sans CJK SC":
            return i
    raise SystemExit(f"no 'Noto Sans CJK SC' face in {ttc_path}")


def main():
    noto = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/opentype/noto")
    unicodes = ",".join(f"U+{cp:04X}" for cp in codepoints())
    for weight in ("Regular", "Bold"):
        ttc = noto / f"NotoSansCJK-{weight}.ttc"
        out = HERE / f"NotoSansCJKsc-{weight}.subset.otf"
        subset.main(
            [
                str(ttc),
                f"--font-number={sc_index(ttc)}",
                f"--unicodes={unicodes}",
                # Only what a static card needs: no hinting (resvg ignores it), no vertical
                # metrics, and just the layout features for horizontal Chinese text.
                "--no-hinting",
                # Keep the .notdef box: a character the subset lacks then prints as a visible
                # box a proofreader notices, not as a silent gap.
                "--notdef-outline",
                "--drop-tables+=vhea,vmtx,VORG",
                "--layout-features=kern,palt,locl,liga,ccmp",
                "--name-IDs=0,1,2,3,4,5,6,13,14",
                f"--output-file={out}",
            ]
        )
        print(f"{out.name}: {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
