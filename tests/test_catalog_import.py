"""Catalog import from CSV: the sample file, re-import, bad rows, the command, a large file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.domain.catalog import availability
from app.domain.catalog_search import SearchCache, search
from app.domain.catalog_import import CatalogFileError, import_catalog
from app.models import Item, Title
from app.models.enums import ItemStatus, MaterialType
from tests.catalog_csv import HEADER, catalog_csv, catalog_rows
from tests.conftest import DATABASE_URL

SAMPLE = Path(__file__).resolve().parent.parent / "app" / "data" / "sample-catalog.csv"


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8-sig")


async def found(keyword: str) -> list[str]:
    return [t.title for t in (await search(SearchCache(), keyword, limit=50)).titles]


async def test_the_sample_catalog_imports_and_can_be_searched(deps):
    report = await import_catalog(deps, sample_text())
    assert report.errors == [] and report.ignored_columns == []
    assert (report.rows, report.titles_created, report.items_created) == (17, 14, 17)
    assert await Title.all().count() == 14 and await Item.all().count() == 17
    # Two copies of one ISBN are one title; the ISBN-10 is stored as ISBN-13.
    cat = await Title.get(isbn="9784003101018")
    assert await Item.filter(title=cat).count() == 2
    bocchan = await Title.get(isbn="9784101010137")
    assert bocchan.title_kana == "ボッチャン" and bocchan.author_kana == "ナツメ ソウセキ"
    assert bocchan.material_type is MaterialType.BOOK
    assert (await Title.get(title="おおきなかぶ")).material_type is MaterialType.KAMISHIBAI
    # ISBN-less rows with the same title, author, publisher and year are one title; one copy is 禁帯出.
    history = await Title.get(title="古賀市の歴史")
    assert (await availability([history.id]))[history.id].copies == 1
    assert await Item.filter(title=history).count() == 2
    # The search index follows: half-width readings in the file, hiragana in the query.
    assert await found("ぎんがてつどう") == ["銀河鉄道の夜"]
    assert await found("ねこである") == ["吾輩は猫である"]
    assert await found("宇宙") == ["はじめての宇宙"]


async def test_importing_again_changes_nothing_and_duplicates_nothing(deps):
    await import_catalog(deps, sample_text())
    again = await import_catalog(deps, sample_text())
    assert again.errors == []
    assert (again.titles_created, again.titles_updated, again.items_created, again.items_updated) == (0, 0, 0, 0)
    assert await Title.all().count() == 14 and await Item.all().count() == 17


async def test_reimport_updates_what_changed_and_the_search_follows(deps):
    await import_catalog(deps, sample_text())
    changed = sample_text().replace("銀河鉄道の夜,", "銀河鉄道の夜 新装版,").replace("3000000004,一般書架", "3000000004,文庫")
    report = await import_catalog(deps, changed)
    assert (report.titles_updated, report.items_updated, report.titles_created, report.items_created) == (1, 1, 0, 0)
    assert (await Item.get(barcode="3000000004")).location == "文庫"
    assert await found("新装版") == ["銀河鉄道の夜 新装版"]


async def test_reimport_never_touches_the_status_of_a_copy(deps):
    await import_catalog(deps, sample_text())
    await Item.filter(barcode="3000000001").update(status=ItemStatus.ON_LOAN)
    await import_catalog(deps, sample_text())
    assert (await Item.get(barcode="3000000001")).status is ItemStatus.ON_LOAN


async def test_a_copy_moves_to_the_title_its_new_isbn_names(deps):
    await import_catalog(deps, sample_text())
    moved = sample_text().replace("978-4-00-310101-8,913.6,book,3000000002", "978-4-10-109205-8,913.6,book,3000000002")
    await import_catalog(deps, moved)
    item = await Item.get(barcode="3000000002")
    assert (await Title.get(id=item.title_id)).isbn == "9784101092058"


BAD = """title,title_kana,author,isbn,published_year,material_type,barcode,loanable,arrived_on
正しい本,タダシイホン,山田太郎,978-4-00-310101-8,2001,book,B-1,1,2026-11-01
,ショメイナシ,,,,book,B-2,1,
チェックディジット違い,,,978-4-00-310101-9,,book,B-3,,
出版年が変,,,,20XX,book,B-4,,
種別が変,,,,,レコード,B-5,,
貸出可否が変,,,,,book,B-6,たぶん,
受入日が変,,,,,book,B-7,,2026-02-30
キーなし,,,,,book,,,
正しい本（2冊目）,,,,,book,B-1,,
"改行を含む
書名",,,,,book,B-9,,
バーコードに空白,,,,,book,B 10,,
列が多い,,,,,book,B-11,,,余計
最後の正しい本,サイゴ,,,,,B-12,0,
"""


async def test_bad_rows_are_reported_with_line_numbers_and_good_rows_are_imported(deps):
    report = await import_catalog(deps, BAD)
    reasons = {e.line: " ".join(e.reasons) for e in report.errors}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 13, 14]
    assert "書名" in reasons[3]
    assert "ISBN" in reasons[4]
    assert "出版年" in reasons[5]
    assert "資料種別" in reasons[6]
    assert "貸出可否" in reasons[7]
    assert "受入日" in reasons[8]
    assert "バーコードとISBN" in reasons[9]
    assert "2行目" in reasons[10]  # the same barcode twice in one file
    assert "バーコード" in reasons[13]
    assert "列の数" in reasons[14]
    assert report.rows == 13 and report.rows_imported == 3
    assert sorted(await Title.all().values_list("title", flat=True)) == ["改行を含む 書名", "最後の正しい本", "正しい本"]
    assert (await Item.get(barcode="B-12")).loanable is False


async def test_japanese_headings_are_understood_and_unknown_columns_ignored(deps):
    text = "書名,著者,ISBN,資料バーコード,配架場所,備考\nﾕｷｸﾞﾆ（新版）,川端康成,,Ｊ-１,文庫,寄贈\n"
    report = await import_catalog(deps, text)
    assert report.errors == [] and report.ignored_columns == ["備考"]
    title = await Title.get(title="ユキグニ（新版）")  # half-width kana widened, the rest as catalogued
    assert title.author == "川端康成"
    assert (await Item.get(barcode="J-1")).location == "文庫"  # codes are NFKC: full-width digits are digits


async def test_columns_absent_from_the_file_are_left_alone(deps):
    await import_catalog(deps, sample_text())
    report = await import_catalog(deps, "isbn,title,barcode\n978-4-00-310101-8,吾輩は猫である（改版）,3000000001\n")
    assert report.titles_updated == 1 and report.items_updated == 0
    cat = await Title.get(isbn="9784003101018")
    assert cat.title == "吾輩は猫である（改版）"
    assert cat.author == "夏目漱石" and cat.ndc == "913.6"  # not in the file: kept
    assert (await Item.get(barcode="3000000001")).location == "一般書架"


@pytest.mark.parametrize("text", ["", "isbn,barcode\n9784003101018,X-1\n"])
async def test_a_file_without_a_title_column_is_refused_as_a_whole(deps, text):
    with pytest.raises(CatalogFileError):
        await import_catalog(deps, text)
    assert await Title.all().count() == 0


# About 20 s to import, and emptying the tables afterwards takes a few more: run only when asked
# (`pytest -m slow`). How long it takes is the benchmark's business (docs/performance.md), not a test's.
@pytest.mark.slow
async def test_a_hundred_thousand_rows_import_in_batches(deps):
    rows = catalog_rows(100_000)
    text = catalog_csv(rows)
    progress: list[int] = []
    report = await import_catalog(deps, text, on_progress=progress.append)
    assert report.errors == [] and report.rows == 100_000 and sum(progress) == 100_000
    assert report.items_created == 100_000 and report.titles_created == len({r[HEADER.index("isbn")] for r in rows})
    assert await Item.all().count() == 100_000
    last = rows[-1][0]
    assert [t.title for t in (await search(SearchCache(), last)).titles] == [last]


def test_the_import_command_shows_progress_and_reports_bad_rows(tmp_path, database):
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "SECRET_KEY": "test"}
    command = [sys.executable, "-m", "app.cli", "import-catalog"]
    ok = subprocess.run([*command, str(SAMPLE)], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "17 of 17 rows imported" in ok.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    errors = tmp_path / "errors.csv"
    result = subprocess.run([*command, str(bad), "--errors-file", str(errors)], env=env, capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "line 3" in result.stderr and "3 of 13 rows imported" in result.stderr
    assert errors.read_text(encoding="utf-8").count("\n") == 11
    sjis = tmp_path / "sjis.csv"
    sjis.write_bytes("title,barcode\n雪国,S-1\n".encode("cp932"))
    wrong = subprocess.run([*command, str(sjis)], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert wrong.returncode == 2 and "cp932" in wrong.stderr
    right = subprocess.run([*command, str(sjis), "--encoding", "cp932"], env=env, capture_output=True, text=True,
                           cwd=tmp_path)
    assert right.returncode == 0, right.stderr
