"""「図書館からのEメールが受信できない方へ」: the guide's advice to patrons whose mail from the
library does not arrive, with the library's own sender address and domain (MAIL_FROM), for a
client to show next to the e-mail form and on the hold screens."""

from __future__ import annotations

from dataclasses import dataclass

from app.settings import Settings

TITLE = "図書館からのEメールが受信できない方へ"
COMMON_MISTAKES = (
    "「@」アットマークや「.」ドットの入力忘れ",
    "「.」ドットが「,」カンマになっている",
    "アルファベットの大文字・小文字の間違い",
    "「-」ハイフンと「_」アンダーバーの間違い",
)
FILTER_SETTINGS = (
    "迷惑メール防止設定（メールフィルター）・メールの指定受信をしている方",
    "パソコンからのメール受信拒否をしている方",
    "なりすまし・転送メール規制を設定している方",
)
ALLOW_SENDER = "図書館のメールアドレスまたはドメインを受信できるようにしてください（指定受信設定）。"
ALSO_TRY = (
    "迷惑メール防止等の設定をした覚えがないのに届かない、また、今までは届いていたのに急に届かなくなってしまった、"
    "という方もお試しください。解決することがあります。"
    "設定メニューの名称や方法は各携帯電話会社や機種等によって異なります。"
    "詳しい設定方法は各携帯電話会社のショップやWebサイト、メールサイトのヘルプ等でご確認ください。"
)
UNDELIVERABLE_ADDRESSES = (
    "メールアドレスに全角文字を使用しているアドレス",
    "「.」ドットを連続して使用しているアドレス",
    "「@」アットマークの直前に「.」ドットを使用しているアドレス",
)
CHECK_MY_PAGE = (
    "メールによるご連絡は、利用されている端末や設定、通信会社等によって通信環境がそれぞれ異なるため、"
    "諸事情により届かないことも起こり得ます。確実に予約資料を受取るためにも、"
    "「マイページ」を定期的にご覧ください。"
)


@dataclass(frozen=True)
class DeliveryAdvice:
    """The advice, with the sender address and domain to allow."""

    sender_address: str
    sender_domain: str
    sender_only: bool = True  # 送信専用: replies are not read


def delivery_advice(settings: Settings) -> DeliveryAdvice:
    """The sender to allow (MAIL_FROM and its domain)."""
    return DeliveryAdvice(sender_address=settings.mail_from, sender_domain=settings.mail_domain)
