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


def search_key(text: str) -> str:
    """The form both the catalog index and a query are reduced to before matching."""
    return jaconv.hira2kata(_SPACES.sub(" ", nfkc(text)).strip().lower())
