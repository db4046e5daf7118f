"""Catalog CSV files made up for tests: believable Japanese titles with valid ISBNs."""

from __future__ import annotations

import csv
import io
import random

from stdnum import ean

HEADER = ["title", "title_kana", "author", "author_kana", "publisher", "publisher_kana", "published_year",
          "isbn", "ndc", "material_type", "barcode", "location", "loanable", "arrived_on"]

_WORDS = [("猫", "ネコ"), ("宇宙", "ウチュウ"), ("鉄道", "テツドウ"), ("料理", "リョウリ"), ("恐竜", "キョウリュウ"),
          ("歴史", "レキシ"), ("海", "ウミ"), ("森", "モリ"), ("星", "ホシ"), ("花", "ハナ"), ("旅", "タビ"),
          ("音楽", "オンガク"), ("数学", "スウガク"), ("昆虫", "コンチュウ"), ("福岡", "フクオカ"), ("古賀", "コガ")]
_FORMS = [("{a}と{b}", "{a}ト{b}"), ("はじめての{a}", "ハジメテノ{a}"), ("{a}の{b}図鑑", "{a}ノ{b}ズカン"),
          ("{a}入門", "{a}ニュウモン"), ("{a}をめぐる{b}", "{a}ヲメグル{b}")]
_NAMES = [("山田", "ヤマダ"), ("田中", "タナカ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("井上", "イノウエ")]
_GIVEN = [("花子", "ハナコ"), ("太郎", "タロウ"), ("陽菜", "ヒナ"), ("健", "ケン"), ("美咲", "ミサキ")]
_PUBLISHERS = [("岩波書店", "イワナミショテン"), ("新潮社", "シンチョウシャ"), ("福音館書店", "フクインカンショテン")]


def isbn13(n: int) -> str:
    """A valid ISBN-13 (978-4 group) for a serial number."""
    base = f"9784{n:08d}"
    return base + ean.calc_check_digit(base)


def catalog_rows(count: int, seed: int = 5) -> list[list[str]]:
    """`count` copies: mostly one copy per title, every fifth title with a second copy."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    n = 0
    while len(rows) < count:
        (a, ar), (b, br) = rng.sample(_WORDS, 2)
        form, reading = rng.choice(_FORMS)
        family, family_kana = rng.choice(_NAMES)
        given, given_kana = rng.choice(_GIVEN)
        publisher, publisher_kana = rng.choice(_PUBLISHERS)
        title = [f"{form.format(a=a, b=b)} 第{n}巻", reading.format(a=ar, b=br), family + given,
                 f"{family_kana} {given_kana}", publisher, publisher_kana, str(rng.randint(1950, 2026)), isbn13(n),
                 rng.choice(["913.6", "440", "686", "457", "210"]), rng.choice(["book", "図書", "絵本", "magazine"])]
        for copy in range(2 if n % 5 == 0 else 1):
            rows.append(title + [f"4{len(rows):09d}", "一般書架", "1", f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"])
        n += 1
    return rows[:count]


def catalog_csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
