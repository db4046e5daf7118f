"""Normalising what people type: full-/half-width, hiragana/katakana, spaces (jaconv + NFKC)."""

from __future__ import annotations

import re
import unicodedata

import jaconv

_SPACES = re.compile(r"[\s\u3000]+")
_KATAKANA_NAME = re.compile(r"^[\u30A1-\u30FA\u30FC\u30FB]+$")


def nfkc(text: str) -> str:
    """Full-width ASCII to half-width, half-width katakana to full-width (ｶﾞ → ガ)."""
    return unicodedata.normalize("NFKC", text)


def digits_only(text: str) -> str:
    """Digits typed in any width, with spaces and hyphens removed ("１０ 1-2" → "1012")."""
    return re.sub(r"[\s\-‐－ー]", "", nfkc(text))


def kana_name(text: str) -> str:
    """A name as full-width katakana without spaces (ﾔﾏﾀﾞ ﾀﾛｳ, やまだ たろう → ヤマダタロウ)."""
    return jaconv.hira2kata(_SPACES.sub("", nfkc(text)))


def is_katakana_name(text: str) -> bool:
    return bool(_KATAKANA_NAME.match(text))


def _search_folds() -> dict[int, str | None]:
    """One translation table for the variants a patron should not have to guess."""
    table: dict[int, str | None] = {}
    # Punctuation and symbols separate words (羅生門・鼻 → 羅生門 鼻); the BMP covers the
    # characters of bibliographic records.
    for code in range(0x10000):
        if unicodedata.category(chr(code))[0] in "PS":
            table[code] = " "
    # Small kana read as their full-size letters (キャット ≈ キヤット, as NDL readings write them).
    table.update(str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ"))
    # Kana spelled two ways for one sound.
    table.update(str.maketrans("ヂヅヲヰヱヴ", "ジズオイエブ"))
    # The long-vowel mark is written or left out (コンピューター / コンピュータ).
    table[ord("ー")] = None
    return table


_SEARCH_FOLDS = _search_folds()
_VU_SYLLABLES = (("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"))


def search_key(text: str) -> str:
    """The form both the catalog index and a query are reduced to before matching.

    Full-/half-width (NFKC), case, hiragana/katakana, small kana, ヴ/バ, ヂ/ジ, ヅ/ズ, ヲ/オ and
    the long-vowel mark are folded; punctuation becomes a space; runs of spaces become one.
    """
    key = jaconv.hira2kata(nfkc(text).lower())
    if "ヴ" in key:
        for variant, plain in _VU_SYLLABLES:
            key = key.replace(variant, plain)
    return _SPACES.sub(" ", key.translate(_SEARCH_FOLDS)).strip()
