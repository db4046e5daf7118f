"""What a title is found and sorted by (資料検索の索引), computed once whenever a title is written.

Every field a patron may search (title, author, publisher and their readings, ヨミ) is reduced
by `search_key`, spaces inside a field dropped, so a reading catalogued word by word
(ワガハイ ハ ネコ デ アル) is found by ネコデアル. From these keys a title gets three columns:

- `search_text`: the keys in two groups, the title's (title and its reading) and the others
  (author, publisher and their readings), every key between spaces, a tab between the groups:
  ``" 吾輩ハ猫デアル ワガハイハネコデアル \\t 夏目漱石 ナツメソウセキ 岩波書店 イワナミシヨテン "``.
  A term holds neither a space nor a tab, so plain substring tests on this text decide every
  match, the same on SQLite (`instr`) and PostgreSQL (`strpos`): the title contains a term when
  its first occurrence comes before the tab; the title *is* the keyword when " keyword " does.
- `search_grams`: the tokens both databases index (FTS5 on SQLite, GIN on PostgreSQL), space
  separated: every pair of adjacent characters of each key and its last character alone, tagged
  `t` in the title group and `o` in the others; `e` + each whole title key (the exact title);
  `m` + the material type. A term of two characters is exactly one token per group; a term of
  one character is a prefix of tokens (every character is the first of a pair or the last of
  its key); a longer term is the conjunction of its pairs, and the search text confirms it.
  (Single characters as tokens of their own would double what the index keeps for each title.)
- `title_reading_key`: the order of 五十音順: the reading (the title itself when no reading was
  catalogued) with dakuten and handakuten set aside (ガ sorts with カ), then the reading as
  written to break ties, both folded like the search keys. Compared code point by code point
  (SQLite's BINARY, PostgreSQL's "C" collation), so both databases order alike.

The query side (`Keyword`, `TokenQuery`) is defined here too, beside what it must mirror.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Union

from app.domain.normalize import search_key, search_key_of_parts
from app.models.enums import MaterialType

TITLE_TAG, OTHER_TAG, EXACT_TAG, MATERIAL_TAG = "t", "o", "e", "m"
GROUP_BREAK = "\t"
# Whole titles longer than a keyword may be get no exact token (no keyword could equal them).
MAX_KEYWORD_LENGTH = 200
# How much of a reading orders titles; longer readings tie and fall back to the record id.
_READING_SORT_LENGTH = 100
READING_KEY_LENGTH = 2 * _READING_SORT_LENGTH + 1


@dataclass(frozen=True)
class TitleFields:
    """The fields of a title the index is built from."""

    title: str
    title_kana: str = ""
    author: str = ""
    author_kana: str = ""
    publisher: str = ""
    publisher_kana: str = ""
    material_type: MaterialType | str = MaterialType.BOOK


def material_token(material_type: MaterialType | str) -> str:
    """The token of a material type (FTS5's ascii tokenizer would split at the underscore)."""
    return MATERIAL_TAG + MaterialType(material_type).value.replace("_", "")


def _grams(tag: str, key: str) -> list[str]:
    """`tag` + every pair of adjacent characters of `key`, and its last character."""
    return [tag + key[i:i + 2] for i in range(len(key) - 1)] + [tag + key[-1:]] if key else []


# Authors and publishers (and their readings) come back title after title: an import computes
# their tokens once.
_other_grams = functools.lru_cache(maxsize=50_000)(lambda key: tuple(_grams(OTHER_TAG, key)))


def indexed_columns(fields: TitleFields) -> dict[str, str]:
    """`search_text`, `search_grams` and `title_reading_key` of a title: what every writer of
    `titles` stores with it."""
    keys = search_key_of_parts([fields.title, fields.title_kana, fields.author, fields.author_kana,
                                fields.publisher, fields.publisher_kana])
    title_keys, other_keys = keys[:2], keys[2:]
    tokens = [material_token(fields.material_type)]
    for key in title_keys:
        tokens += _grams(TITLE_TAG, key)
        if 0 < len(key) <= MAX_KEYWORD_LENGTH:
            tokens.append(EXACT_TAG + key)
    for key in other_keys:
        tokens += _other_grams(key)
    text = f" {' '.join(title_keys)} {GROUP_BREAK} {' '.join(other_keys)} "
    # A token repeated (ノ twice in a title) is indexed once by both databases: no need to
    # spend an import's time removing it here.
    return {"search_text": text, "search_grams": " ".join(tokens), "title_reading_key": reading_key(keys[1] or keys[0])}


def _plain_sounds() -> dict[int, int]:
    """Each kana with a sound mark (ガ, パ, ヴ...) to the kana without it (カ, ハ, ウ)."""
    table = {}
    for code in range(0x3040, 0x3100):
        decomposed = unicodedata.normalize("NFD", chr(code))
        if len(decomposed) == 2 and ord(decomposed[1]) in (0x3099, 0x309A):
            table[code] = ord(decomposed[0])
    return table


_PLAIN_SOUNDS = _plain_sounds()


def reading_key(reading: str) -> str:
    """The 五十音順 sort key of a folded reading."""
    plain = reading.translate(_PLAIN_SOUNDS)
    return f"{plain[:_READING_SORT_LENGTH]} {reading[:_READING_SORT_LENGTH]}"


# --- the query side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prefix:
    """Every token that begins so (an FTS5 prefix query, a tsquery `:*`)."""

    start: str


@dataclass(frozen=True)
class AllOf:
    """Every token or sub-query (an FTS5 AND, a GIN `@>`)."""

    parts: tuple[TokenQuery, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one token or sub-query (an FTS5 OR, a GIN `&&`)."""

    parts: tuple[TokenQuery, ...]


TokenQuery = Union[str, Prefix, AllOf, AnyOf]


def all_of(parts: list[TokenQuery]) -> TokenQuery:
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def any_of(parts: list[TokenQuery]) -> TokenQuery:
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


def term_tokens(term: str, tag: str) -> TokenQuery:
    """Tokens a title must hold when `term` occurs in the group `tag` (a superset for 3+
    characters: the pairs may lie apart, which the search text rules out)."""
    if len(term) == 1:
        return Prefix(tag + term)
    if len(term) == 2:
        return tag + term
    return all_of(list(dict.fromkeys(tag + term[i:i + 2] for i in range(len(term) - 1))))


@dataclass(frozen=True)
class Keyword:
    """A keyword as the index sees it: terms that must all occur (in any field), and the whole
    keyword as one key (a title that is exactly it ranks first)."""

    terms: tuple[str, ...]
    whole: str
    blank: bool = True  # nothing was typed (or only spaces): the whole catalog is listed

    @classmethod
    def parse(cls, keyword: str, max_terms: int) -> Keyword:
        """Terms of a keyword (longest first; a term inside another adds nothing: 猫 in 吾輩ハ猫)."""
        key = search_key(keyword)
        kept: list[str] = []
        for term in sorted(dict.fromkeys(key.split()), key=len, reverse=True):
            if not any(term in longer for longer in kept):
                kept.append(term)
        return cls(tuple(kept[:max_terms]), "".join(key.split()), not keyword.strip())

    @property
    def unsearchable(self) -> bool:
        """Something was typed, but nothing the index holds (only punctuation or symbols): no
        title can match."""
        return not self.terms and not self.blank

    def anywhere(self) -> TokenQuery:
        """Titles that may hold every term in some field."""
        return all_of([any_of([term_tokens(t, TITLE_TAG), term_tokens(t, OTHER_TAG)]) for t in self.terms])

    def in_title(self) -> TokenQuery:
        """Titles that may hold every term in the title or its reading."""
        return all_of([term_tokens(t, TITLE_TAG) for t in self.terms])

    def beyond_title(self) -> TokenQuery:
        """Titles that may hold every term, some of them outside the title group."""
        return all_of([self.anywhere(), any_of([term_tokens(t, OTHER_TAG) for t in self.terms])])

    def exact(self) -> str | None:
        """The token of a title that is exactly the keyword, if one can be."""
        return EXACT_TAG + self.whole if 0 < len(self.whole) <= MAX_KEYWORD_LENGTH else None
