"""The Japanese plain-text mails of every notice kind (予約受付・貸出準備完了・返却日・メール確認・変更).

A notice keeps only `data` (ids, ISO dates, and titles only when NOTICES_INCLUDE_TITLES is on);
the text is rendered here when the mail is sent, so every mail of one kind reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from app.models.enums import NoticeKind
from app.settings import Settings

_WEEKDAYS = "月火水木金土日"
_SOURCES = {
    "web": "Web予約",
    "counter": "窓口",
    "interlibrary_loan": "相互貸借",
    "purchase_request": "購入リクエスト",
}
SUBJECTS: dict[NoticeKind, str] = {
    NoticeKind.HOLD_RECEIVED: "予約受付のお知らせ",
    NoticeKind.HOLD_READY: "貸出準備完了のお知らせ",
    NoticeKind.DUE_REMINDER: "返却日のお知らせ",
    NoticeKind.EMAIL_CONFIRMATION: "メールアドレス登録の確認",
    NoticeKind.EMAIL_CHANGED: "メールアドレス変更のお知らせ",
    NoticeKind.PASSWORD_CHANGED: "パスワード変更のお知らせ",
}


@dataclass(frozen=True)
class Letter:
    """The subject and body of one mail."""

    subject: str
    body: str


def subject(kind: NoticeKind, settings: Settings) -> str:
    """The subject line of a notice kind: 【図書館名】…のお知らせ."""
    return f"【{settings.library_name}】{SUBJECTS[kind]}"


def render(kind: NoticeKind, data: dict[str, Any], settings: Settings, *,
           confirmation_url: str | None = None) -> Letter:
    """The mail of one notice; `confirmation_url` is needed for EMAIL_CONFIRMATION only."""
    body = _BODIES[kind](data, settings, confirmation_url)
    return Letter(subject(kind, settings), f"{settings.library_name}です。\n{body}{_footer(settings)}")


def jp_date(value: str | date) -> str:
    """2026-12-05 → 2026年12月5日（土）"""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日（{_WEEKDAYS[day.weekday()]}）"


def jp_datetime(value: str | datetime, tz: ZoneInfo) -> str:
    """An instant as the library's local date and time: 2026年11月29日（日）10時00分"""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = instant.astimezone(tz)
    return f"{jp_date(local.date())}{local.hour}時{local.minute:02d}分"


def _title_line(data: dict[str, Any]) -> str:
    # Present only when the library chose to name titles (the outbox drops them otherwise).
    return f"資料名　　：{data['title']}\n" if data.get("title") else ""


def _hold_received(data: dict[str, Any], settings: Settings, _: str | None) -> str:
    source = _SOURCES.get(data.get("source", ""), "")
    return (
        "ご予約を受け付けました。\n"
        "\n"
        f"受付日　　：{jp_date(data['placed_on'])}\n"
        + (f"受付方法　：{source}\n" if source else "")
        + _title_line(data)
        + "\n"
        "資料の貸出準備ができましたら、「貸出準備完了」のメールでお知らせします。\n"
        "予約の状況は、Webサイトのマイページ「予約中一覧」でご確認いただけます。\n"
        + _MAY_NOT_ARRIVE
    )


def _hold_ready(data: dict[str, Any], settings: Settings, _: str | None) -> str:
    return (
        "ご予約の資料の貸出準備ができました。\n"
        "\n"
        + _title_line(data)
        + f"取置期限日：{jp_date(data['pickup_deadline'])}\n"
        "\n"
        "取置期限日までに、予約された方の利用者カードをお持ちのうえ、図書館カウンターにお越しください。\n"
        "期限を過ぎますと、ご予約は取り消しとなります。\n"
        + _MAY_NOT_ARRIVE
    )


def _due_reminder(data: dict[str, Any], settings: Settings, _: str | None) -> str:
    titles = data.get("titles") or []
    listed = "".join(f"・{t}\n" for t in titles)
    return (
        "お借りになっている資料の返却期限日が近づいています。\n"
        "\n"
        f"返却期限日：{jp_date(data['due_date'])}\n"
        f"点数　　　：{data['count']}点\n"
        + (f"資料名　　：\n{listed}" if listed else "")
        + "\n"
        "期限までにご返却ください。次の予約がない資料は、貸出期限内に1回だけ、\n"
        "Webサイトのマイページ「貸出中一覧」から延長できます。\n"
        "このメールが不要な場合は、マイページの通知設定で返却日メールを止められます。\n"
    )


def _email_confirmation(data: dict[str, Any], settings: Settings, url: str | None) -> str:
    if not url:
        raise ValueError("a confirmation mail needs its link")
    return (
        "Webサービスで、このメールアドレスの登録（変更）のお申し込みがありました。\n"
        "下記のURLを開き、表示されたページの「登録を確定する」ボタンを押してください。\n"
        "ボタンを押すまで、登録は確定されません。\n"
        "\n"
        f"{url}\n"
        "\n"
        f"URLの有効期限：{jp_datetime(data['expires_at'], settings.tz)}\n"
        "期限を過ぎた場合は、お手数ですがマイページからもう一度お申し込みください。\n"
        "お心当たりのない場合は、このメールを破棄してください。\n"
    )


def _email_changed(data: dict[str, Any], settings: Settings, _: str | None) -> str:
    return (
        f"Webサービスに登録されているメールアドレスが、{jp_date(data['changed_on'])}に変更されました。\n"
        "\n"
        f"新しいメールアドレス：{data['new_address']}\n"
        "\n"
        "お心当たりのない場合は、お手数ですが図書館カウンターまでお問い合わせください。\n"
    )


def _password_changed(data: dict[str, Any], settings: Settings, _: str | None) -> str:
    # No link: a mail that asks to click something is what a phishing mail looks like.
    return (
        f"Webサービスのパスワードが、{jp_datetime(data['changed_at'], settings.tz)}に変更されました。\n"
        "\n"
        "お心当たりのない場合は、お手数ですが図書館カウンターまでお問い合わせください。\n"
    )


_MAY_NOT_ARRIVE = (
    "\n"
    "メールは通信環境などにより届かないこともあります。予約資料を確実に受け取るため、\n"
    "マイページも定期的にご覧ください。\n"
)


def _footer(settings: Settings) -> str:
    return (
        "\n"
        "※このメールは送信専用のアドレスから送信しています。ご返信いただいてもお答えできません。\n"
        "――――――――――――――――――――\n"
        f"{settings.library_name}\n"
    )


_BODIES: dict[NoticeKind, Callable[[dict[str, Any], Settings, str | None], str]] = {
    NoticeKind.HOLD_RECEIVED: _hold_received,
    NoticeKind.HOLD_READY: _hold_ready,
    NoticeKind.DUE_REMINDER: _due_reminder,
    NoticeKind.EMAIL_CONFIRMATION: _email_confirmation,
    NoticeKind.EMAIL_CHANGED: _email_changed,
    NoticeKind.PASSWORD_CHANGED: _password_changed,
}
