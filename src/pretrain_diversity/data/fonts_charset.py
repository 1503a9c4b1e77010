"""Which characters the font source renders: each is one class.

Two groups, both fixed lists so a class means the same character on every machine:

- Latin, Greek and Cyrillic letters and digits that do not look like another listed character in
  most typefaces (Greek capital Alpha and Cyrillic A are Latin A; l, I and 1 or O and 0 are one
  shape in many sans faces). Rendering drops any further lookalike it finds (``fonts.py``).
- The Han characters common to GB2312 (simplified Chinese) and JIS X 0208 (Japanese): both
  Chinese and Japanese faces draw them, so each has many real designs.
"""

from __future__ import annotations

import string
from functools import lru_cache

import numpy as np

CONFUSABLE_LATIN = "lI1O0"
GREEK = "ΓΔΘΛΞΠΣΦΨΩαβγδεζηθικλμνξπρσςτυφχψω"  # capitals that are Latin letters left out
# Cyrillic without the Latin or Greek lookalikes (А, В, Г=Γ, П=Π, Ф=Φ, З=3, к, о, ...)
CYRILLIC = "БДЖИЙЛЦЧШЩЪЫЬЭЮЯбгджзийлмнптцчшщъыьэюя"


def _double_byte(codec: str, lead: range, trail: range = range(0xA1, 0xFF)) -> set[str]:
    out = set()
    for a in lead:
        for b in trail:
            try:
                out.add(bytes([a, b]).decode(codec))
            except UnicodeDecodeError:
                pass
    return out


def han_common() -> list[str]:
    """Han characters in both GB2312 (rows 16-87) and JIS X 0208 (rows 16-84), by code point."""
    gb = _double_byte("gb2312", range(0xB0, 0xF8))
    jis = _double_byte("euc_jp", range(0xB0, 0xF5))
    return sorted(c for c in gb & jis if "\u4e00" <= c <= "\u9fff")


def alphabetic() -> list[str]:
    latin = [c for c in string.ascii_letters + string.digits if c not in CONFUSABLE_LATIN]
    return sorted(set(latin) | set(GREEK) | set(CYRILLIC))


@lru_cache(maxsize=1)
def charset() -> np.ndarray:
    """int32 code points, ascending: the alphabetic characters, then the common Han characters."""
    return np.array(sorted(ord(c) for c in alphabetic() + han_common()), np.int32)


def script_of(codepoint: int) -> str:
    """'latin', 'greek', 'cyrillic' or 'han' (the tables group classes by it)."""
    cp = int(codepoint)
    if cp < 0x370:
        return "latin"
    if cp < 0x400:
        return "greek"
    if cp < 0x530:
        return "cyrillic"
    return "han"
