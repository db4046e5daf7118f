"""Normalising what people type: full-/half-width, hiragana/katakana, spaces (jaconv + NFKC)."""

from __future__ import annotations

import re
import unicodedata

import jaconv

_SPACES = re.compile(r"[\s\u3000]+")
_KATAKANA_NAME = re.compile(r"[\u30A1-\u30FA\u30FC\u30FB]+")


def nfkc(text: str) -> str:
    """Full-width ASCII to half-width, half-width katakana to full-width (ｶﾞ → ガ)."""
    return unicodedata.normalize("NFKC", text)


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def digits_only(text: str) -> str:
    """Digits typed half- or full-width, with spaces and hyphens removed ("１０ 1-2" → "1012").

    Only the full-width digits are folded (not NFKC's ², ① or other scripts' digits): what
    remains is checked to be ASCII digits by the caller.
    """
    return re.sub(r"[\s\-‐－ー]", "", text.translate(_FULL_WIDTH_DIGITS))


def kana_name(text: str) -> str:
    """A name as full-width katakana without spaces (ﾔﾏﾀﾞ ﾀﾛｳ, やまだ たろう → ヤマダタロウ)."""
    return jaconv.hira2kata(_SPACES.sub("", nfkc(text)))


def is_katakana_name(text: str) -> bool:
    return bool(_KATAKANA_NAME.fullmatch(text))


def _search_folds() -> dict[int, str | None]:
    """One translation table for the variants a patron should not have to guess."""
    katakana: dict[int, str | None] = {}
    # Punctuation and symbols separate words (羅生門・鼻 → 羅生門 鼻); the BMP covers the
    # characters of bibliographic records.
    # Control characters separate words too; invisible format characters (zero-width space,
    # soft hyphen, BOM) and stray surrogates are dropped, so no key holds a character that
    # cannot be typed or stored.
    for code in range(0x10000):
        category = unicodedata.category(chr(code))
        if category[0] in "PS" or category == "Cc":
            katakana[code] = " "
        elif category in ("Cf", "Cs"):
            katakana[code] = None
    # Small kana read as their full-size letters (キャット ≈ キヤット, as NDL readings write them).
    katakana.update(str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ"))
    # Kana spelled two ways for one sound.
    katakana.update(str.maketrans("ヂヅヲヰヱヴ", "ジズオイエブ"))
    # The long-vowel mark is written or left out (コンピューター / コンピュータ).
    katakana[ord("ー")] = None
    # Hiragana become katakana (as jaconv.hira2kata does), then fold like katakana.
    table = dict(katakana)
    for code in range(0x3041, 0x3097):
        folded = katakana.get(code + 0x60, chr(code + 0x60))
        table[code] = folded
    table[ord("ゝ")], table[ord("ゞ")] = "ヽ", "ヾ"
    return table


_SEARCH_FOLDS = _search_folds()
_VU_SYLLABLES = (("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"),
                 ("ゔぁ", "バ"), ("ゔぃ", "ビ"), ("ゔぇ", "ベ"), ("ゔぉ", "ボ"))


def _fold(text: str) -> str:
    key = nfkc(text).lower()
    if "ヴ" in key or "ゔ" in key:
        for variant, plain in _VU_SYLLABLES:
            key = key.replace(variant, plain)
    return key.translate(_SEARCH_FOLDS)


def search_key(text: str) -> str:
    """The form both the catalog index and a query are reduced to before matching.

    Full-/half-width (NFKC), case, hiragana/katakana, small kana, ヴ/バ, ヂ/ジ, ヅ/ズ, ヲ/オ and
    the long-vowel mark are folded; punctuation, symbols and control characters become a space,
    invisible format characters vanish; runs of spaces become one.
    """
    return " ".join(_fold(text).split())


# Joins the parts folded in one pass: a private-use character, which the folds leave alone
# (a control character would become a space).
_PART_BREAK = "\ue000"


def search_key_of_parts(parts: list[str]) -> list[str]:
    """`search_key` of several texts with every space removed, in one pass (for indexing)."""
    folded = _fold(_PART_BREAK.join(p.replace(_PART_BREAK, "") for p in parts))
    return ["".join(part.split()) for part in folded.split(_PART_BREAK)]
