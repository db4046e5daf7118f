"""Every Japanese text the service shows or sends: the message of every error code, warnings,
labels, the calendar feeds, the catalog import's reasons and the e-mail confirmation page: the
single catalogue, nowhere else."""

from __future__ import annotations

from typing import Any

from app.domain.errors import ErrorCode, Failure
from app.models.enums import MaterialType

MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "入力内容に誤りがあります。",
    ErrorCode.NOT_AUTHENTICATED: "ログインしてください。",
    ErrorCode.FORBIDDEN: "この操作を行う権限がありません。",
    ErrorCode.NOT_FOUND: "対象が見つかりません。",
    ErrorCode.RATE_LIMITED: "試行回数が上限に達しました。しばらく時間をおいてから、もう一度お試しください。",
    ErrorCode.INVALID_CREDENTIALS: "利用者番号またはパスワードが正しくありません。",
    ErrorCode.INVALID_CARD_NUMBER: "利用者番号は「10」で始まる半角数字9桁で入力してください。",
    ErrorCode.INVALID_PASSWORD: "パスワードは半角英数字4～8文字で入力してください。",
    ErrorCode.WEAK_PASSWORD: "職員のパスワードは{min}文字以上にしてください。",
    ErrorCode.PASSWORD_MISMATCH: "パスワードと再入力が一致しません。",
    ErrorCode.PASSWORD_UNCHANGED: "新しいパスワードが現在のパスワードと同じです。",
    ErrorCode.INVALID_NAME_KANA: "氏名は全角カナで入力してください。",
    ErrorCode.INVALID_BIRTH_DATE: "生年月日は西暦・半角数字8桁（例：20090301）で、正しい日付を入力してください。",
    ErrorCode.INVALID_PHONE: "電話番号は半角数字で、3つの欄に分けて入力してください。",
    ErrorCode.IDENTITY_NOT_VERIFIED: "入力された利用者情報を確認できませんでした。内容をお確かめのうえ、もう一度入力してください。",
    ErrorCode.INVALID_TICKET: "本人確認の有効期限が切れたか、すでに使用されています。最初からやり直してください。",
    ErrorCode.CARD_NUMBER_TAKEN: "この利用者番号はすでに登録されています。",
    ErrorCode.INVALID_USERNAME: "ユーザー名は半角英数字・記号（._-）3～64文字で入力してください。",
    ErrorCode.USERNAME_TAKEN: "このユーザー名はすでに使われています。",
    ErrorCode.PASSWORD_TOO_COMMON: "このパスワードはよく使われていて推測されやすいため、使えません。別のパスワードにしてください。",
    ErrorCode.PASSWORD_REPEATED_CHARACTERS: "同じ文字だけのパスワード（例：1111、aaaa）は推測されやすいため、使えません。",
    ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS: "連続した文字だけのパスワード（例：1234、abcd、4321）は推測されやすいため、使えません。",
    ErrorCode.PASSWORD_CONTAINS_BIRTH_DATE: "生年月日の数字（4桁以上の並び）を含むパスワードは推測されやすいため、使えません。",
    ErrorCode.PASSWORD_CONTAINS_PHONE_NUMBER: "電話番号の数字（4桁以上の並び）を含むパスワードは推測されやすいため、使えません。",
    ErrorCode.PASSWORD_CONTAINS_CARD_NUMBER: "利用者番号の数字（4桁以上の並び）を含むパスワードは推測されやすいため、使えません。",
    ErrorCode.LOAN_OVERDUE: "返却期限を過ぎているため延長できません。",
    ErrorCode.RENEWAL_LIMIT_REACHED: "延長は{limit}回までです。この資料はすでに延長済みです。",
    ErrorCode.RENEWAL_BLOCKED_BY_HOLD: "次の予約があるため延長できません。",
    ErrorCode.HOLD_LIMIT_REACHED: "予約できるのは図書・雑誌あわせて{limit}冊までです。",
    ErrorCode.TITLE_AVAILABLE_ON_SHELF: "この資料は貸出可能です。予約せずに図書館でお借りください。",
    ErrorCode.TITLE_NOT_OWNED: "この資料は図書館が所蔵していないため、Web予約できません。",
    ErrorCode.TITLE_REFERENCE_ONLY: "この資料は館内でご利用いただく資料（禁帯出）のため、予約できません。",
    ErrorCode.MATERIAL_NOT_HOLDABLE_ON_WEB: "{material}はWebでは予約できません。図書館カウンターでお申し込みください。",
    ErrorCode.MATERIAL_NOT_RENEWABLE_ON_WEB: "{material}はWebでは延長できません。図書館カウンターでお申し出ください。",
    ErrorCode.ALREADY_HELD: "この資料はすでに予約しています。",
    ErrorCode.ALREADY_ON_LOAN: "この資料は現在お借りになっています。",
    ErrorCode.NO_CONTACT_EMAIL: "予約のご連絡はメールのみです。先にメールアドレスを登録してください。",
    ErrorCode.HOLD_NOT_CANCELLABLE: "この予約は取り消しできません。",
    ErrorCode.HOLD_CANCEL_AT_COUNTER: "相互貸借・購入リクエストによる予約の取消は、図書館カウンターにお申し出ください。",
    ErrorCode.ALREADY_IN_CART: "この資料はすでに予約カートに入っています。",
    ErrorCode.ITEM_NOT_AVAILABLE: "この資料は貸出できる状態ではありません。",
    ErrorCode.ITEM_HELD_FOR_ANOTHER_PATRON: "この資料は他の利用者の予約のために取り置かれています。",
    ErrorCode.ITEM_NOT_ON_LOAN: "この資料は貸出中ではありません。",
    ErrorCode.PATRON_INACTIVE: "この利用者カードは現在ご利用いただけません。カウンターにお問い合わせください。",
    ErrorCode.EMAIL_REQUIRED: "メールアドレスを入力してください。",
    ErrorCode.EMAIL_FULL_WIDTH: "メールアドレスに全角文字が含まれています。すべて半角で入力してください。",
    ErrorCode.EMAIL_HAS_SPACE: "メールアドレスに空白（スペース）が含まれています。空白を取り除いてください。",
    ErrorCode.EMAIL_MISSING_AT: "メールアドレスに「@」（アットマーク）がありません。",
    ErrorCode.EMAIL_COMMA: "メールアドレスに「,」（カンマ）が含まれています。「.」（ドット）の入力誤りではありませんか。",
    ErrorCode.EMAIL_CONSECUTIVE_DOTS: "「.」（ドット）が連続しているメールアドレスには、図書館からのメールが届かないことがあるため登録できません。別のアドレスをご利用ください。",
    ErrorCode.EMAIL_DOT_BEFORE_AT: "「@」の直前に「.」（ドット）があるメールアドレスには、図書館からのメールが届かないことがあるため登録できません。別のアドレスをご利用ください。",
    ErrorCode.EMAIL_MISSING_DOMAIN_DOT: "「@」より後ろ（ドメイン）に「.」（ドット）がありません。入力漏れがないかご確認ください。",
    ErrorCode.EMAIL_DOMAIN_TYPO: "「@」より後ろの「{domain}」は入力誤りと思われます。",
    ErrorCode.EMAIL_INVALID: "メールアドレスの形式が正しくありません。半角英数字と記号で、「名前@ドメイン」の形で入力してください。",
    ErrorCode.EMAIL_UNCHANGED: "現在登録されているメールアドレスと同じです。",
    ErrorCode.INVALID_TOKEN: "このURLは無効です（すでに使用されたか、新しい確認メールが送信されています）。お手数ですが、もう一度メールアドレスの変更を行ってください。",
    ErrorCode.TOKEN_EXPIRED: "このURLは有効期限が切れています。お手数ですが、もう一度メールアドレスの変更を行ってください。",
    ErrorCode.NO_EMAIL: "メールアドレスが登録されていません。",
    ErrorCode.NOTICE_NOT_RETRYABLE: "送信に失敗したお知らせだけを再送できます。",
    ErrorCode.NAME_REQUIRED: "名前を入力してください。",
    ErrorCode.NAME_TOO_LONG: "名前は{max}文字以内で入力してください。",
    ErrorCode.NAME_TAKEN: "同じ名前の本棚がすでにあります。",
    ErrorCode.LIMIT_REACHED: "登録できる上限（{limit}件）に達しています。",
    ErrorCode.INVALID_GOAL: "目標冊数は1～{max}の数で入力してください。",
    ErrorCode.INVALID_PERIOD: "期間の終了日は開始日以降の日付で、開始日から{years}年以内にしてください。",
    ErrorCode.INVALID_TIME: "時刻は「10:30」のように24時間制で入力してください。",
    ErrorCode.TEXT_TOO_LONG: "{max}文字以内で入力してください。",
    ErrorCode.CONFIRMATION_REQUIRED: "削除してよろしければ、確認欄に「{phrase}」と入力してください。",
    ErrorCode.KEYWORD_TOO_LONG: "キーワードは{limit}文字以内で入力してください。",
    ErrorCode.KEYWORD_INVALID_CHARACTER: "キーワードに使えない文字（制御文字など）が含まれています。入力し直してください。",
    ErrorCode.INVALID_CURSOR: "ページの指定（カーソル）が正しくありません。一覧の最初から読み直してください。",
    ErrorCode.INVALID_PAGE_SIZE: "1ページの件数（first）は0以上の数で指定してください。",
}


# Material types as the library names them, for messages (資料種別).
MATERIAL_NAMES: dict[MaterialType, str] = {
    MaterialType.BOOK: "図書", MaterialType.MAGAZINE: "雑誌", MaterialType.PICTURE_BOOK: "絵本",
    MaterialType.KAMISHIBAI: "紙芝居", MaterialType.CD: "CD", MaterialType.DVD: "DVD",
    MaterialType.OTHER: "この種類の資料",
}


# Not failures: what a payload tells the patron after a change succeeded.
EMAIL_REMOVED_WARNING = (
    "メールアドレスを削除しました。予約受付・貸出準備完了・返却日のメールは届かなくなります。"
    "予約の状況はマイページの「予約中一覧」で定期的にご確認ください。"
)
EMAIL_REMOVED_HOLDS_WARNING = (
    "現在の予約{count}件についても、図書館からのご連絡がメールで届かなくなります。"
)
# 新規パスワード登録 (3) 登録完了: the guide's next step, for a patron without a contact address.
REGISTER_EMAIL_NEXT_STEP = (
    "パスワードの登録が完了しました。マイページの「利用者情報変更」から、Eメールアドレスを登録してください。"
    "予約のご連絡はメールのみのため、メールアドレスの登録が済むまでWeb予約はできません。"
)
# For the desk: a hold placed for a patron whom no notice can reach (窓口で予約された場合も、メール連絡となります).
COUNTER_HOLD_NO_CONTACT_WARNING = (
    "この利用者はメールアドレスが登録されていないため、予約受付・貸出準備完了のメールが届きません。"
    "連絡方法をご案内のうえ、マイページでのメールアドレス登録をおすすめください。"
)


# The privacy dashboard (わたしの情報): the name of each kind of data and how long it is kept.
# Keys are `app.domain.privacy.PersonalData` values; {days} is the retention setting.
PRIVACY_LABELS: dict[str, str] = {
    "registration": "利用者登録の情報（利用者番号・氏名カナ・生年月日・電話番号）",
    "contact_address": "メールアドレス",
    "current_loans": "貸出中の資料",
    "active_holds": "予約中の資料",
    "cancelled_holds": "取消済の予約",
    "loan_history": "借りた本の履歴",
    "bookshelves": "My本棚",
    "favorites": "お気に入り",
    "hold_cart": "予約カート",
    "reading_marathon": "読書マラソンの記録（日ごとの貸出冊数）",
    "notices": "お知らせメールの記録",
    "sessions": "ログイン中の端末",
    "calendar_feed": "カレンダー配信のURL",
    "consent_ledger": "設定の変更記録（日付のみ）",
}
PRIVACY_RETENTION: dict[str, str] = {
    "registration": "登録中は保存します。変更・登録の廃止は図書館カウンターでお申し出ください。",
    "contact_address": "削除するまで保存します。マイページからいつでも削除できます。",
    "current_loans": "返却までの記録です。返却すると、あなたと資料の結びつきは消去されます（Webからは削除できません）。",
    "active_holds": "受取または取消までの記録です。順番待ちの予約はマイページから取り消せます（Webからは削除できません）。",
    "cancelled_holds": "取消・期限切れから{days}日後に自動的に消去します。",
    "loan_history": "記録する設定にしている間だけ保存します。いつでも削除でき、記録をやめるとすべて消去します。",
    "bookshelves": "削除するまで保存します。",
    "favorites": "削除するまで保存します。",
    "hold_cart": "予約するか、カートから外すまで保存します。",
    "reading_marathon": "冊数だけを記録し、資料名は記録しません。削除するまで保存します。",
    "notices": "送信から{days}日後に自動的に消去します。本文は保存しません。",
    "sessions": "ログアウト、または一定時間操作がないと終了します。IPアドレスは保存しません。",
    "calendar_feed": "停止するまで有効です。",
    "consent_ledger": "利用者登録のある間、日付と変更の種類だけを保存します（以前のメールアドレスは保存しません）。",
}

# deleteReadingRecords: what stays, said plainly.
KEPT_CURRENT_LOANS = (
    "貸出中の資料{count}冊の記録は、返却まで残ります。返却すると、あなたと資料の結びつきは自動的に消去されます。"
)
KEPT_ACTIVE_HOLDS = (
    "予約{count}件の記録は、受取または取消まで残ります。順番待ちの予約はマイページの予約中一覧から取り消せます。"
)

# What a live event tells the patron at once (viewerEvents); keys are EventKind values.
EVENT_MESSAGES: dict[str, str] = {
    "hold_ready": "予約資料の貸出準備ができました。取置期限日（{pickup_deadline}）までにお受け取りください。",
    "hold_expired": "予約資料の取置期限日を過ぎたため、予約が取り消されました。",
    "hold_cancelled": "予約が取り消されました。",
    "loan_due_soon": "返却期限日（{due_date}）が近づいている資料が{count}冊あります。",
    "email_confirmed": "メールアドレスの登録が完了しました。",
}

# Where the patron creates a calendar feed: what it shows, and where it goes.
CALENDAR_FEED_NOTE = (
    "カレンダーアプリは予定を外部のサービス（Google・Apple・Microsoft など）に保存します。"
    "このカレンダーには資料名を載せず、「返却期限日」と「予約資料の取置期限日」だけを載せます。"
    "URLを知っている人は誰でも見られるため、他の人に教えないでください。心配なときはURLを変更または停止できます。"
)
CALENDAR_FEED_NOTE_WITH_TITLES = (
    "カレンダーアプリは予定を外部のサービス（Google・Apple・Microsoft など）に保存します。"
    "この図書館はお知らせに資料名を載せる設定のため、このカレンダーにも資料名が載ります。"
    "URLを知っている人は誰でも見られるため、他の人に教えないでください。心配なときはURLを変更または停止できます。"
)

# The calendar feeds' events (iCalendar SUMMARY and DESCRIPTION).
ICAL_DUE_DATE = "図書館の返却期限日"
ICAL_DUE_DATE_DESCRIPTION = "{library}で借りている資料の返却期限日です。延長できるかはマイページでご確認ください。"
ICAL_PICKUP_DEADLINE = "予約資料の取置期限日"
ICAL_PICKUP_DEADLINE_DESCRIPTION = "{library}で予約した資料の受取期限です。この日までにカウンターでお受け取りください。"
ICAL_CLOSED = "休館日"
ICAL_PATRON_CALENDAR_NAME = "{library} 返却期限・予約"
ICAL_LIBRARY_CALENDAR_NAME = "{library} 休館日・行事"


# The catalog CSV import (`library import-catalog`): why a file or a row cannot be read.
CATALOG_FILE_EMPTY = "ファイルが空です。"
CATALOG_NO_TITLE_COLUMN = "見出し行に書名（title）の列がありません。"
CATALOG_TOO_MANY_COLUMNS = "列の数が見出し行より多くなっています（{count}列）。"
CATALOG_TOO_LONG = "{column} が長すぎます（{limit}文字まで）。"
CATALOG_NO_TITLE = "書名（title）がありません。"
CATALOG_BAD_ISBN = "ISBN「{isbn}」が正しくありません。"
CATALOG_BAD_BARCODE = "バーコード「{barcode}」に使えない文字があります（半角英数字とハイフン、32文字まで）。"
CATALOG_NO_BARCODE_OR_ISBN = "バーコードとISBNのどちらかが必要です。"
CATALOG_BAD_YEAR = "出版年「{year}」が正しくありません（西暦4桁）。"
CATALOG_BAD_MATERIAL = "資料種別「{material}」は使えません（{allowed}）。"
CATALOG_BAD_LOANABLE = "貸出可否「{loanable}」が不明です（1 または 0）。"
CATALOG_BAD_ARRIVED_ON = "受入日「{arrived_on}」が正しくありません（YYYY-MM-DD）。"
CATALOG_DUPLICATE_BARCODE = "バーコード「{barcode}」は{line}行目にもあります。"

# The e-mail confirmation page (/email/confirm), opened from the mailed link.
EMAIL_CONFIRM_HEADING = "メールアドレスの登録確認"
EMAIL_CONFIRM_INTRO = "次のメールアドレスを、図書館からのお知らせを受け取るアドレスとして登録します。"
EMAIL_CONFIRM_ASK = "よろしければ「登録を確定する」を押してください。押すまで登録は確定されません。"
EMAIL_CONFIRM_BUTTON = "登録を確定する"
EMAIL_CONFIRM_EXPIRES = "このURLの有効期限：{expires}"
EMAIL_CONFIRM_BAD_FORM = "送信内容の形式が正しくありません。"
EMAIL_CONFIRM_TOO_LARGE = "送信内容が大きすぎます。"
EMAIL_DONE_HEADING = "メールアドレスの登録完了"
EMAIL_DONE = "メールアドレスの登録が完了しました。"
EMAIL_DONE_CLOSE = "このページは閉じてかまいません。"


def message_for(failure: Failure) -> str:
    """The Japanese message of a failure, with its parameters filled in."""
    template = MESSAGES.get(failure.code, MESSAGES[ErrorCode.INVALID_INPUT])
    params: dict[str, Any] = failure.params
    try:
        text = template.format(**params)
    except (KeyError, IndexError):
        text = template
    if suggestion := params.get("suggestion"):
        text += f"（もしかして：{suggestion}）"
    return text
