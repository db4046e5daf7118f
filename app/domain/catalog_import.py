"""Catalog import (書誌・所蔵データの取込): a CSV file of copies and their titles.

Each row is one copy (item) and the title it belongs to. Import is idempotent: copies are
keyed by barcode, titles by ISBN, so importing the same file again updates what changed and
never duplicates. A row without an ISBN belongs to the title its barcode already has, or to a
title shared with the other ISBN-less rows of the file that have the same title, author,
publisher and year. Columns present in the file are authoritative (an empty cell clears the
field, except ISBN and arrival date); columns absent from the file leave the field alone.
A copy's status (on loan, on the hold shelf...) is never touched.

Rows with errors are reported with their line numbers and reasons; valid rows are imported in
batches, one transaction each. Each title is written with its search columns
(`app.domain.search_index`); the databases index them (see migration 0004).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterator

import jaconv
from stdnum import ean
from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import InvalidChecksum, ValidationError
from tortoise.transactions import in_transaction

from app import db
from app.domain import messages
from app.domain.catalog import MATERIAL_TYPES, is_barcode
from app.domain.search_index import TitleFields, indexed_columns
from app.domain.deps import Deps
from app.domain.normalize import nfkc
from app.models import Item, Title
from app.models.enums import ItemStatus, MaterialType

BATCH_SIZE = 1000

# Column name → the names a library's export may give it (English keys or Japanese headings).
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "書名", "タイトル"),
    "title_kana": ("title_kana", "書名ヨミ", "タイトルヨミ"),
    "author": ("author", "著者", "著者名"),
    "author_kana": ("author_kana", "著者ヨミ", "著者名ヨミ"),
    "publisher": ("publisher", "出版者", "出版社"),
    "publisher_kana": ("publisher_kana", "出版者ヨミ", "出版社ヨミ"),
    "published_year": ("published_year", "year", "出版年"),
    "isbn": ("isbn", "ISBN"),
    "ndc": ("ndc", "NDC", "分類"),
    "material_type": ("material_type", "資料種別"),
    "barcode": ("barcode", "資料バーコード", "バーコード"),
    "location": ("location", "配架場所"),
    "loanable": ("loanable", "貸出可否"),
    "arrived_on": ("arrived_on", "受入日"),
}
_ALIASES = {alias.lower(): name for name, aliases in COLUMNS.items() for alias in aliases}

# Longest value of each text column (the sizes of the database columns).
_MAX_LENGTH = {
    "title": 500, "title_kana": 500, "author": 300, "author_kana": 300, "publisher": 200,
    "publisher_kana": 200, "ndc": 16, "barcode": 32, "location": 100,
}
_TITLE_FIELDS = ("title", "title_kana", "author", "author_kana", "publisher", "publisher_kana",
                 "published_year", "ndc", "material_type", "arrived_on")
_READINGS = ("title_kana", "author_kana", "publisher_kana")
_TEXTS = ("title", "author", "publisher", "location")
# What the search columns are computed from (`TitleFields`, in its order).
_INDEXED = ("title", "title_kana", "author", "author_kana", "publisher", "publisher_kana", "material_type")
_SEARCH_COLUMNS = ("search_text", "search_grams", "title_reading_key")

# The spellings a catalog file may use for a material type: the stored values and Japanese names.
_MATERIAL_SPELLINGS: dict[str, MaterialType] = {
    **MATERIAL_TYPES,
    "図書": MaterialType.BOOK, "本": MaterialType.BOOK, "雑誌": MaterialType.MAGAZINE,
    "絵本": MaterialType.PICTURE_BOOK, "紙芝居": MaterialType.KAMISHIBAI, "その他": MaterialType.OTHER,
}
_YES = {"1", "true", "yes", "y", "可", "○", "◯"}
_NO = {"0", "false", "no", "n", "不可", "禁帯出", "×"}
_DATE = re.compile(r"([0-9]{4})[-/]?([0-9]{1,2})[-/]?([0-9]{1,2})")


class CatalogFileError(Exception):
    """The file as a whole cannot be imported (no title column, not text in the encoding...)."""


@dataclass(frozen=True)
class RowError:
    line: int
    reasons: list[str]


@dataclass
class ImportReport:
    rows: int = 0
    titles_created: int = 0
    titles_updated: int = 0
    items_created: int = 0
    items_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rows_imported(self) -> int:
        return self.rows - len(self.errors)


@dataclass
class _Row:
    line: int
    values: dict[str, object]  # the title and copy fields present in the file, parsed
    isbn: str | None
    barcode: str | None


# --- reading and checking rows -------------------------------------------------------------


def read_catalog(text: str) -> tuple[list[str], list[str], Iterator[tuple[int, list[str]]]]:
    """The columns of a CSV text (our names), the ignored headings, and its records with
    the line number each starts on."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogFileError(messages.CATALOG_FILE_EMPTY) from None
    columns, ignored = [], []
    for heading in header:
        name = _ALIASES.get(nfkc(heading).strip().lower())
        if name is None or name in columns:
            ignored.append(heading)
            name = ""
        columns.append(name)
    if "title" not in columns:
        raise CatalogFileError(messages.CATALOG_NO_TITLE_COLUMN)

    def records() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        for record in reader:
            if any(cell.strip() for cell in record):
                yield line, record
            line = reader.line_num + 1

    return columns, ignored, records()


def _text(value: str) -> str:
    """Text shown to patrons, as stored: half-width katakana made full-width (ﾈｺ → ネコ), spaces
    trimmed and collapsed; other characters kept as catalogued (（）, ①, Ｆ stay)."""
    if not value.isascii():
        value = jaconv.h2z(unicodedata.normalize("NFC", value), kana=True, ascii=False, digit=False)
    return " ".join(value.split())


def _code(value: str) -> str:
    """A code or number (ISBN, barcode, year, date, flag): NFKC, so full-width digits are digits."""
    return " ".join((value if value.isascii() else nfkc(value)).split())


def _isbn13(value: str) -> str:
    """The ISBN-13 of an ISBN-10 or -13 (hyphens and spaces allowed); ValidationError if invalid."""
    digits = value.replace("-", "").replace(" ", "")
    # The common case (13 digits, 978/979) without python-stdnum's general clean-up.
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        if ean.calc_check_digit(digits[:12]) == digits[12]:
            return digits
        raise InvalidChecksum()
    return stdnum_isbn.to_isbn13(stdnum_isbn.validate(digits))


def _reading(value: str) -> str:
    """A reading (ヨミ) as full-width katakana, whatever kana or width it was typed in."""
    return jaconv.hira2kata(_text(value))


def parse_row(line: int, columns: list[str], record: list[str], today: date) -> _Row | RowError:
    """One record checked and converted, or the reasons it cannot be imported."""
    reasons: list[str] = []
    if len(record) > len(columns):
        reasons.append(messages.CATALOG_TOO_MANY_COLUMNS.format(count=len(record)))
    cells = {name: record[i] if i < len(record) else "" for i, name in enumerate(columns) if name}
    values: dict[str, object] = {}
    for name, raw in cells.items():
        value = _reading(raw) if name in _READINGS else _text(raw) if name in _TEXTS else _code(raw)
        limit = _MAX_LENGTH.get(name)
        if limit is not None and len(value) > limit:
            reasons.append(messages.CATALOG_TOO_LONG.format(column=name, limit=limit))
        values[name] = value
    if not values.get("title"):
        reasons.append(messages.CATALOG_NO_TITLE)

    isbn = None
    if values.get("isbn"):
        try:
            isbn = _isbn13(str(values["isbn"]))
        except ValidationError:
            reasons.append(messages.CATALOG_BAD_ISBN.format(isbn=values["isbn"]))
    values.pop("isbn", None)

    barcode = str(values.pop("barcode", "")) or None
    if barcode is not None and not is_barcode(barcode):
        reasons.append(messages.CATALOG_BAD_BARCODE.format(barcode=barcode))
    if barcode is None and isbn is None and not reasons:
        reasons.append(messages.CATALOG_NO_BARCODE_OR_ISBN)

    if "published_year" in values:
        year = str(values["published_year"])
        if not year:
            values["published_year"] = None
        elif re.fullmatch(r"[0-9]{4}", year) and 1000 <= int(year) <= today.year + 1:
            values["published_year"] = int(year)
        else:
            reasons.append(messages.CATALOG_BAD_YEAR.format(year=year))

    if "material_type" in values:
        raw_type = str(values["material_type"])
        material = _MATERIAL_SPELLINGS.get(raw_type.lower() or "book", _MATERIAL_SPELLINGS.get(raw_type))
        if material is None:
            reasons.append(messages.CATALOG_BAD_MATERIAL.format(
                material=raw_type, allowed=", ".join(m.value for m in MaterialType)))
        values["material_type"] = material

    if "loanable" in values:
        raw_flag = str(values["loanable"]).lower()
        if raw_flag in _YES or raw_flag == "":
            values["loanable"] = True
        elif raw_flag in _NO:
            values["loanable"] = False
        else:
            reasons.append(messages.CATALOG_BAD_LOANABLE.format(loanable=values["loanable"]))

    if "arrived_on" in values:
        raw_date = str(values.pop("arrived_on"))
        if raw_date:
            match = _DATE.fullmatch(raw_date)
            try:
                values["arrived_on"] = date(int(match[1]), int(match[2]), int(match[3])) if match else None
            except ValueError:
                values["arrived_on"] = None
            if values["arrived_on"] is None:
                reasons.append(messages.CATALOG_BAD_ARRIVED_ON.format(arrived_on=raw_date))

    if reasons:
        return RowError(line, reasons)
    return _Row(line, values, isbn, barcode)


# --- writing batches -------------------------------------------------------------------------


_KEY_FIELDS = ("title", "author", "publisher", "published_year")


def _title_key(values: dict[str, object]) -> tuple[object, ...]:
    """Identity of an ISBN-less title within one file (as stored: a missing text is "")."""
    return tuple(values.get(f) or ("" if f != "published_year" else None) for f in _KEY_FIELDS)


def _search_columns(fields: dict[str, object]) -> dict[str, str]:
    """The search columns of a title with these fields (`indexed_columns`)."""
    return indexed_columns(TitleFields(*(fields.get(f) or "" for f in _INDEXED[:-1]),  # type: ignore[arg-type]
                                       material_type=fields.get("material_type") or MaterialType.BOOK))  # type: ignore[arg-type]


def _changes(title: dict[str, object], values: dict[str, object]) -> dict[str, object]:
    """The fields of an existing title (as read) that the rows change, with its new search columns."""
    changes = {name: values[name] for name in _TITLE_FIELDS if name in values and title[name] != values[name]}
    if any(name in changes for name in _INDEXED):
        changes.update(_search_columns({**title, **changes}))
    return changes


_NEW_TITLE_COLUMNS = ["isbn", *_TITLE_FIELDS, *_SEARCH_COLUMNS, "created_at", "updated_at"]
_TITLE_READ = ("id", "isbn", *_TITLE_FIELDS)
_ITEM_READ = ("id", "barcode", "title_id", "location", "loanable")


class _Importer:
    def __init__(self, deps: Deps, columns: list[str], report: ImportReport) -> None:
        self.report = report
        self.now = deps.now()
        self.today = deps.today()
        self.copy_fields = [f for f in ("location", "loanable") if f in columns]
        self.seen_barcodes: dict[str, int] = {}  # barcode → line, across the file
        self.keyless_titles: dict[tuple[object, ...], int] = {}  # ISBN-less title key → title id

    def check_duplicate(self, row: _Row) -> RowError | None:
        if row.barcode is None:
            return None
        first = self.seen_barcodes.setdefault(row.barcode, row.line)
        if first != row.line:
            return RowError(row.line, [messages.CATALOG_DUPLICATE_BARCODE.format(barcode=row.barcode, line=first)])
        return None

    async def write(self, rows: list[_Row]) -> None:
        async with in_transaction():
            barcodes = [r.barcode for r in rows if r.barcode]
            items = {i["barcode"]: i for i in await Item.filter(barcode__in=barcodes).values(*_ITEM_READ)}
            title_of = await self._titles(rows, items)
            await self._items(rows, items, title_of)

    async def _titles(self, rows: list[_Row], items: dict[str, dict]) -> dict[int, int]:
        """Create or update the titles of a batch; the title id of each row (by line)."""
        isbns = [r.isbn for r in rows if r.isbn]
        item_title_ids = {items[r.barcode]["title_id"] for r in rows if not r.isbn and r.barcode in items}
        found = await Title.filter(isbn__in=isbns).values(*_TITLE_READ) if isbns else []
        found += await Title.filter(id__in=list(item_title_ids)).values(*_TITLE_READ) if item_title_ids else []
        by_isbn = {t["isbn"]: t for t in found if t["isbn"]}
        by_id = {t["id"]: t for t in found}

        new: dict[object, dict[str, object]] = {}  # ISBN or ISBN-less key → fields of a new title
        merged: dict[int, dict[str, object]] = {}  # existing title id → fields from its rows
        title_of: dict[int, int] = {}
        waiting: list[tuple[_Row, object]] = []  # rows whose title is created below
        for row in rows:
            if row.isbn and row.isbn in by_isbn:
                title_id = by_isbn[row.isbn]["id"]
            elif not row.isbn and row.barcode in items:
                title_id = items[row.barcode]["title_id"]
                self.keyless_titles.setdefault(_title_key(row.values), title_id)
            elif not row.isbn and _title_key(row.values) in self.keyless_titles:
                title_of[row.line] = self.keyless_titles[_title_key(row.values)]
                continue
            else:
                key = row.isbn or _title_key(row.values)
                fields = new.setdefault(key, {"isbn": row.isbn, "arrived_on": self.today})
                fields.update((k, v) for k, v in row.values.items() if k in _TITLE_FIELDS and v is not None)
                waiting.append((row, key))  # the last row of a new title wins, as for existing ones
                continue
            merged.setdefault(title_id, {}).update(row.values)  # the last row of a title wins
            title_of[row.line] = title_id

        changes = {pk: c for pk, values in merged.items() if (c := _changes(by_id[pk], values))}
        if changes:
            titles = await Title.filter(id__in=list(changes))
            for title in titles:
                for name, value in changes[title.id].items():
                    setattr(title, name, value)
                title.updated_at = self.now
            await Title.bulk_update(titles, fields=[*_TITLE_FIELDS, *_SEARCH_COLUMNS, "updated_at"], batch_size=500)
            self.report.titles_updated += len(titles)
        if new:
            created = await db.bulk_insert(Title, _NEW_TITLE_COLUMNS, [self._new_title(f) for f in new.values()],
                                    returning=("id", "isbn", *_KEY_FIELDS))
            ids = {}
            for row in created:
                key = row["isbn"] or _title_key(row)
                ids[key] = row["id"]
                if not row["isbn"]:
                    self.keyless_titles[key] = row["id"]
            for row, key in waiting:
                title_of[row.line] = ids[key]
            self.report.titles_created += len(new)
        return title_of

    def _new_title(self, fields: dict[str, object]) -> list[object]:
        values = {**fields, **_search_columns(fields), "created_at": self.now, "updated_at": self.now}
        return [values.get(c, Title._meta.fields_map[c].default) for c in _NEW_TITLE_COLUMNS]

    async def _items(self, rows: list[_Row], items: dict[str, dict], title_of: dict[int, int]) -> None:
        new, changes = [], {}
        for row in rows:
            if row.barcode is None:
                continue
            wanted = {"title_id": title_of[row.line], **{name: row.values[name] for name in self.copy_fields}}
            item = items.get(row.barcode)
            if item is None:
                new.append([row.barcode, wanted["title_id"], ItemStatus.AVAILABLE, wanted.get("location", ""),
                            wanted.get("loanable", True), self.now])
            elif any(item[k] != v for k, v in wanted.items()):
                changes[item["id"]] = wanted
        if new:
            await db.bulk_insert(Item, ["barcode", "title_id", "status", "location", "loanable", "created_at"], new)
            self.report.items_created += len(new)
        if changes:
            changed = await Item.filter(id__in=list(changes))
            for item in changed:
                for name, value in changes[item.id].items():
                    setattr(item, name, value)
            await Item.bulk_update(changed, fields=["title_id", *self.copy_fields], batch_size=500)
            self.report.items_updated += len(changed)


async def import_catalog(deps: Deps, text: str, *, batch_size: int = BATCH_SIZE,
                         on_progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import a catalog CSV (the text of the file); bad rows are reported, good rows imported."""
    columns, ignored, records = read_catalog(text)
    report = ImportReport(ignored_columns=ignored)
    importer = _Importer(deps, columns, report)
    batch: list[_Row] = []
    today = deps.today()

    written, analyzed_at = 0, 0

    async def flush() -> None:
        nonlocal written, analyzed_at
        if batch:
            await importer.write(batch)
            written += len(batch)
            if on_progress:
                on_progress(len(batch))
            batch.clear()
        if written >= 2 * analyzed_at + batch_size:
            # Fresh statistics of the keys looked up each time the import doubles the rows, or
            # PostgreSQL (without autovacuum, or before it wakes) plans the barcode and ISBN
            # lookups as table scans. (The search index's statistics wait for the end.)
            await db.analyze("titles (id, isbn), items (id, barcode, title_id)", finished=False)
            analyzed_at = written

    for line, record in records:
        report.rows += 1
        parsed = parse_row(line, columns, record, today)
        if isinstance(parsed, _Row):
            parsed = importer.check_duplicate(parsed) or parsed
        if isinstance(parsed, RowError):
            report.errors.append(parsed)
            if on_progress:
                on_progress(1)
            continue
        batch.append(parsed)
        if len(batch) >= batch_size:
            await flush()
    await flush()
    if written:
        await _analyze()
    return report


async def _analyze() -> None:
    """Refresh the planner's statistics of the catalog tables; on PostgreSQL also move the search
    index's pending entries into the index proper (GIN keeps new entries in a list that every
    search reads through until then: over a millisecond per search after a large import)."""
    await db.analyze("titles, items", gin_indexes=["titles_search_grams"])
