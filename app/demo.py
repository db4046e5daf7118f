"""Believable demo data: Japanese titles with readings, copies, patrons, loans, holds, a calendar.

Deterministic (seeded), dated relative to today, and written only into an empty catalog, so
`library demo && library serve` can be run again and again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.transactions import in_transaction

from app import db
from app.clock import FixedClock
from app.domain import accounts, circulation, shelves
from app.domain.deps import Deps
from app.domain.search_index import TitleFields, indexed_columns
from app.models import (
    Bookshelf,
    BookshelfEntry,
    CalendarDay,
    CalendarEvent,
    Favorite,
    Item,
    Loan,
    Patron,
    ReadingGoal,
    ReadingTally,
    Staff,
    Title,
)
from app.models.enums import HoldSource, ItemStatus, MaterialType, StaffRole

# (title, reading, author, author reading, publisher, year, NDC)
CLASSICS = [
    ("吾輩は猫である", "ワガハイハネコデアル", "夏目漱石", "ナツメソウセキ", "岩波書店", 1990, "913.6"),
    ("坊っちゃん", "ボッチャン", "夏目漱石", "ナツメソウセキ", "新潮社", 2003, "913.6"),
    ("こころ", "ココロ", "夏目漱石", "ナツメソウセキ", "新潮社", 2004, "913.6"),
    ("羅生門・鼻", "ラショウモンハナ", "芥川龍之介", "アクタガワリュウノスケ", "新潮社", 2005, "913.6"),
    ("蜘蛛の糸・杜子春", "クモノイトトシシュン", "芥川龍之介", "アクタガワリュウノスケ", "新潮社", 2002, "913.6"),
    ("銀河鉄道の夜", "ギンガテツドウノヨル", "宮沢賢治", "ミヤザワケンジ", "新潮社", 1989, "913.6"),
    ("注文の多い料理店", "チュウモンノオオイリョウリテン", "宮沢賢治", "ミヤザワケンジ", "偕成社", 1990, "913.6"),
    ("走れメロス", "ハシレメロス", "太宰治", "ダザイオサム", "新潮社", 2005, "913.6"),
    ("人間失格", "ニンゲンシッカク", "太宰治", "ダザイオサム", "新潮社", 2006, "913.6"),
    ("雪国", "ユキグニ", "川端康成", "カワバタヤスナリ", "新潮社", 2006, "913.6"),
    ("伊豆の踊子", "イズノオドリコ", "川端康成", "カワバタヤスナリ", "新潮社", 2003, "913.6"),
    ("舞姫", "マイヒメ", "森鴎外", "モリオウガイ", "集英社", 1991, "913.6"),
    ("高瀬舟", "タカセブネ", "森鴎外", "モリオウガイ", "集英社", 1992, "913.6"),
    ("たけくらべ", "タケクラベ", "樋口一葉", "ヒグチイチヨウ", "岩波書店", 1999, "913.6"),
    ("山月記", "サンゲツキ", "中島敦", "ナカジマアツシ", "新潮社", 2003, "913.6"),
    ("檸檬", "レモン", "梶井基次郎", "カジイモトジロウ", "新潮社", 2003, "913.6"),
    ("ごんぎつね", "ゴンギツネ", "新美南吉", "ニイミナンキチ", "偕成社", 1986, "913.6"),
    ("手袋を買いに", "テブクロヲカイニ", "新美南吉", "ニイミナンキチ", "偕成社", 1988, "913.6"),
    ("二十四の瞳", "ニジュウシノヒトミ", "壺井栄", "ツボイサカエ", "新潮社", 2005, "913.6"),
    ("枕草子", "マクラノソウシ", "清少納言", "セイショウナゴン", "岩波書店", 1962, "914.3"),
    ("徒然草", "ツレヅレグサ", "吉田兼好", "ヨシダケンコウ", "岩波書店", 1985, "914.4"),
    ("方丈記", "ホウジョウキ", "鴨長明", "カモノチョウメイ", "岩波書店", 1989, "914.4"),
    ("おくのほそ道", "オクノホソミチ", "松尾芭蕉", "マツオバショウ", "岩波書店", 1979, "915.5"),
    ("学問のすゝめ", "ガクモンノススメ", "福沢諭吉", "フクザワユキチ", "岩波書店", 1978, "002"),
]

_SUBJECTS = [
    ("料理", "リョウリ", "596"), ("園芸", "エンゲイ", "620"), ("天文学", "テンモンガク", "440"),
    ("日本史", "ニホンシ", "210"), ("福岡の歴史", "フクオカノレキシ", "219"), ("プログラミング", "プログラミング", "007"),
    ("子育て", "コソダテ", "599"), ("昆虫", "コンチュウ", "486"), ("恐竜", "キョウリュウ", "457"),
    ("俳句", "ハイク", "911"), ("写真", "シャシン", "740"), ("英会話", "エイカイワ", "837"),
    ("山歩き", "ヤマアルキ", "786"), ("手芸", "シュゲイ", "594"), ("経済", "ケイザイ", "330"),
    ("宇宙", "ウチュウ", "440"), ("海の生き物", "ウミノイキモノ", "481"), ("鉄道", "テツドウ", "686"),
]
_PATTERNS = [
    ("はじめての{s}", "ハジメテノ{r}"), ("{s}入門", "{r}ニュウモン"), ("やさしい{s}", "ヤサシイ{r}"),
    ("{s}のひみつ", "{r}ノヒミツ"), ("図解{s}", "ズカイ{r}"), ("{s}のきほん", "{r}ノキホン"),
    ("こどもの{s}図鑑", "コドモノ{r}ズカン"), ("{s}を楽しむ本", "{r}ヲタノシムホン"),
    ("今日から始める{s}", "キョウカラハジメル{r}"), ("{s}の世界", "{r}ノセカイ"),
    ("もっと知りたい{s}", "モットシリタイ{r}"), ("{s}ハンドブック", "{r}ハンドブック"),
]
_FAMILY = [("山田", "ヤマダ"), ("田中", "タナカ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("古賀", "コガ"),
           ("中村", "ナカムラ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ")]
_GIVEN = [("花子", "ハナコ"), ("太郎", "タロウ"), ("陽菜", "ヒナ"), ("蓮", "レン"), ("美咲", "ミサキ"),
          ("健", "ケン"), ("さくら", "サクラ"), ("翔", "ショウ"), ("由美", "ユミ"), ("誠", "マコト")]
_CLASSIC_PUBLISHERS = {"岩波書店": "イワナミショテン", "新潮社": "シンチョウシャ", "偕成社": "カイセイシャ",
                       "集英社": "シュウエイシャ"}
_PUBLISHERS = [("福音館書店", "フクインカンショテン"), ("講談社", "コウダンシャ"), ("小学館", "ショウガクカン"),
               ("岩崎書店", "イワサキショテン"), ("ポプラ社", "ポプラシャ"), ("技術評論社", "ギジュツヒョウロンシャ")]


@dataclass(frozen=True)
class DemoAccount:
    card_number: str
    password: str | None
    name_kana: str
    birth_date: date
    phone: str
    email: str | None
    note: str


DEMO_PATRONS = [
    DemoAccount("100000001", "koga1234", "コガハナコ", date(1985, 6, 15), "0929420001", "hanako@example.jp",
                "loans (one renewable, one renewed, one overdue), holds (one ready for pickup), a confirmed e-mail"),
    DemoAccount("100000002", "tosho22", "ヤマダタロウ", date(1978, 1, 9), "0929420002", None,
                "a loan whose title someone else is waiting for, no e-mail yet"),
    DemoAccount("100000003", None, "スズキミサキ", date(2009, 3, 1), "09012345678", None,
                "no password yet: try 新規パスワード登録 (verifyPatronIdentity)"),
]
DEMO_STAFF = [("desk", "desk-pass-2026", StaffRole.DESK), ("admin", "admin-pass-2026", StaffRole.ADMIN)]


async def load_demo(deps: Deps, titles: int = 300) -> bool:
    """Fill an empty database with demo data. Returns False if the catalog already has titles."""
    if await Title.exists():
        return False
    rng = random.Random(20260211)
    now, today = deps.now(), deps.today()
    async with in_transaction():
        title_rows = await _titles(rng, titles, now, today)
        items = await _items(rng, title_rows, now)
        patrons = await _patrons(deps, now)
        await _calendar(today)
        # 花子 opted in to her loan history two months ago, so her loans below are kept in it.
        patrons[0].reading_history_enabled_at = now - timedelta(days=60)
        await patrons[0].save(update_fields=["reading_history_enabled_at"])
        await _circulation(rng, deps, patrons, title_rows, items, now, today)
        await _patron_library(rng, patrons[0], title_rows, now, today)
    for username, password, role in DEMO_STAFF:
        if not await Staff.exists(username=username):
            await accounts.create_staff(deps, username, password, role=role)
    return True


_SEARCH_COLUMNS = ("search_text", "search_grams", "title_reading_key")


async def _titles(rng: random.Random, count: int, now: datetime, today: date) -> list[Title]:
    specs = list(CLASSICS)
    while len(specs) < count:
        subject, reading, ndc = rng.choice(_SUBJECTS)
        pattern, pattern_reading = rng.choice(_PATTERNS)
        family, family_kana = rng.choice(_FAMILY)
        given, given_kana = rng.choice(_GIVEN)
        publisher, _ = rng.choice(_PUBLISHERS)  # the reading comes from _PUBLISHER_KANA
        volume = len(specs)
        specs.append((
            pattern.format(s=subject) + (f" {volume % 7 + 1}" if volume % 5 == 0 else ""),
            pattern_reading.format(r=reading),
            family + given, family_kana + given_kana, publisher, rng.randint(1995, 2026), ndc,
        ))
    rows = []
    publisher_kana = dict(_PUBLISHERS) | _CLASSIC_PUBLISHERS
    for n, (title, kana, author, author_kana, publisher, year, ndc) in enumerate(specs[:count]):
        material = MaterialType.MAGAZINE if n % 29 == 0 else (
            MaterialType.PICTURE_BOOK if "こども" in title or n % 17 == 0 else MaterialType.BOOK)
        reading = publisher_kana.get(publisher, "")
        search = indexed_columns(TitleFields(title, kana, author, author_kana, publisher, reading, material))
        rows.append([
            title, kana, author, author_kana, publisher, reading, year, f"978{4000000000 + n * 7919:010d}"[:13],
            ndc, material, *(search[c] for c in _SEARCH_COLUMNS),
            today - timedelta(days=rng.randint(0, 720)), now, now,
        ])
    # The databases index the search columns (migration 0004).
    await db.bulk_insert(Title, ["title", "title_kana", "author", "author_kana", "publisher", "publisher_kana",
                                 "published_year", "isbn", "ndc", "material_type", *_SEARCH_COLUMNS, "arrived_on",
                                 "created_at", "updated_at"], rows)
    return await Title.all().only("id", "title", "ndc").order_by("id")


async def _items(rng: random.Random, titles: list[Title], now: datetime) -> dict[int, list[Item]]:
    locations = ["一般書架", "児童書架", "郷土資料", "新着図書", "雑誌コーナー"]
    rows = []
    for title in titles:
        for copy in range(1 if title.id % 3 else 2):
            rows.append([f"2{title.id:07d}{copy}", title.id, ItemStatus.AVAILABLE, rng.choice(locations),
                         not (title.ndc.startswith("219") and copy == 1), now])
    await db.bulk_insert(Item, ["barcode", "title_id", "status", "location", "loanable", "created_at"], rows)
    by_title: dict[int, list[Item]] = {}
    for item in await Item.all().only("id", "title_id", "barcode", "status", "loanable").order_by("id"):
        by_title.setdefault(item.title_id, []).append(item)
    return by_title


async def _patrons(deps: Deps, now: datetime) -> list[Patron]:
    patrons = []
    for account in DEMO_PATRONS:
        patrons.append(await Patron.create(
            card_number=account.card_number, name_kana=account.name_kana, birth_date=account.birth_date,
            phone=account.phone, email=account.email, contact_email=account.email,
            password_hash=await deps.hasher.hash(account.password) if account.password else None,
            password_set_at=now if account.password else None, created_at=now, updated_at=now,
        ))
    for n in range(4, 40):
        family, family_kana = _FAMILY[n % len(_FAMILY)]
        given, given_kana = _GIVEN[(n * 3) % len(_GIVEN)]
        patrons.append(await Patron.create(
            card_number=f"10{n:07d}", name_kana=family_kana + given_kana, birth_date=date(1950 + n, 1 + n % 12, 1 + n % 28),
            phone=f"092942{n:04d}", email=f"patron{n}@example.jp", contact_email=f"patron{n}@example.jp",
            created_at=now, updated_at=now,
        ))
    return patrons


async def _calendar(today: date) -> None:
    """Mondays closed, the year-end holidays closed, and a few events (the guide's 2026/02/11 included)."""
    start, end = date(today.year - 1, 1, 1), date(today.year + 1, 12, 31)
    closed: dict[date, str] = {}
    day = start
    while day <= end:
        if day.weekday() == 0:
            closed[day] = "定期休館日"
        if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
            closed[day] = "年末年始休館"
        day += timedelta(days=1)
    await CalendarDay.bulk_create([CalendarDay(day=d, is_closed=True, note=n) for d, n in sorted(closed.items())])
    events = [(date(2026, 2, 11), "赤ちゃんおはなし会", "10:30")]
    for year in (today.year, today.year + 1):
        for month in range(1, 13):
            events.append((date(year, month, 1) + timedelta(days=(5 - date(year, month, 1).weekday()) % 7),
                           "おはなし会", "14:00"))
    await CalendarEvent.bulk_create([
        CalendarEvent(day=d, title=t, description="児童コーナーにて。申込不要です。", starts_at=s)
        for d, t, s in sorted(set(events))
    ])


async def _circulation(rng: random.Random, deps: Deps, patrons: list[Patron], titles: list[Title],
                       items: dict[int, list[Item]], now: datetime, today: date) -> None:
    """Loans and holds made by the circulation rules on earlier days (due dates skip closed
    days, notices are recorded): some due soon, one renewed, one overdue, queues, a ready hold."""

    def on(days_ago: int) -> Deps:
        """The service as it was `days_ago` days ago, at the same time of day."""
        return Deps(deps.settings, FixedClock(now - timedelta(days=days_ago), deps.settings.tz), deps.hasher)

    async def lend(patron: Patron, title: Title, days_ago: int) -> Loan:
        item = next(i for i in items[title.id] if i.loanable and i.id not in lent)
        lent.add(item.id)
        return (await circulation.checkout(on(days_ago), patron.card_number, item.barcode)).loan

    async def hold(patron: Patron, title: Title, days_ago: int, source: HoldSource = HoldSource.WEB) -> None:
        await circulation.place_hold(on(days_ago), patron, title.id, source=source)

    lent: set[int] = set()
    single_copy = iter([t for t in titles if len(items[t.id]) == 1 and items[t.id][0].loanable])
    hanako, taro = patrons[0], patrons[1]
    # 花子: one loan due in a week (renewable), one renewed already, one overdue.
    await lend(hanako, next(single_copy), 7)
    renewed = await lend(hanako, next(single_copy), 20)
    await circulation.renew_loan(on(8), hanako, renewed.id)
    await lend(hanako, next(single_copy), 25)
    # 太郎 has a title that 花子 and two others wait for, so 太郎 cannot renew.
    target = next(single_copy)
    await lend(taro, target, 3)
    await hold(hanako, target, 2)
    await hold(patrons[4], target, 1)
    await hold(patrons[5], target, 0, HoldSource.COUNTER)
    # 花子's hold on another title came back yesterday: ready for pickup (貸出準備完了). Someone
    # waits behind her, so a moved clock (`--today`) shows the copy moving on when hers expires.
    ready = next(single_copy)
    await lend(patrons[6], ready, 12)
    await hold(hanako, ready, 5)
    await hold(patrons[7], ready, 3)
    await circulation.checkin(on(1), items[ready.id][0].barcode)
    # Other patrons borrow a spread of titles, some with queues.
    others = patrons[3:]
    for n, title in zip(range(60), single_copy):  # as many as a small catalog allows
        borrower = others[n % len(others)]
        await lend(borrower, title, rng.randint(0, 13))
        if n % 4 == 0:
            waiting = others[(n + 5) % len(others)]
            if waiting.id != borrower.id:
                await hold(waiting, title, rng.randint(0, 5))


async def _patron_library(rng: random.Random, hanako: Patron, titles: list[Title], now: datetime, today: date) -> None:
    """花子's own library: favorites, two bookshelves, an opted-in loan history and a reading goal
    for this fiscal year (April to March), so マイページ has something to show."""
    by_name = {t.title: t for t in titles}
    for minutes, name in enumerate(["銀河鉄道の夜", "注文の多い料理店", "檸檬", "山月記"]):
        await Favorite.create(patron_id=hanako.id, title_id=by_name[name].id, created_at=now - timedelta(minutes=minutes))
    shelf_titles = {"宮沢賢治を読む": ["銀河鉄道の夜", "注文の多い料理店"], "子どもと読みたい": ["ごんぎつね", "手袋を買いに"]}
    for n, (shelf_name, names) in enumerate(shelf_titles.items()):
        shelf = await Bookshelf.create(patron_id=hanako.id, name=shelf_name, created_at=now - timedelta(days=30 - n),
                                       updated_at=now)
        for name in names:
            await BookshelfEntry.create(bookshelf_id=shelf.id, title_id=by_name[name].id, added_at=now)

    # Since opting in she has returned a few more (kept in the history and counted).
    current = set(await Loan.filter(patron_id=hanako.id).values_list("title_id", flat=True))
    earlier = [t for t in titles[30:] if t.id not in current]
    for days in (55, 48, 41, 33, 26, 22):
        await shelves.record_checkout(hanako, rng.choice(earlier).id, today - timedelta(days=days))
    # Before opting in she borrowed too: the reading marathon counts those loans, the history
    # does not know them.
    await ReadingTally.bulk_create([
        ReadingTally(patron_id=hanako.id, day=today - timedelta(days=n), count=1) for n in (150, 120, 95, 80)
    ])
    start = date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    await ReadingGoal.create(patron_id=hanako.id, target=24, period_start=start,
                             period_end=date(start.year + 1, 3, 31), updated_at=now)
