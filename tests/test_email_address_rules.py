"""E-mail address checks before anything is sent (F16, the guide's よくある入力ミス例): each rule
with its own code and Japanese message, and the likely fix where it is obvious."""

from __future__ import annotations

import pytest

from app.domain.email_addresses import check_address
from app.domain.errors import ErrorCode, Validator
from app.domain.messages import message_for
from app.models import Notice, OneTimeToken, Patron
from tests.support import DEFAULT_PASSWORD, make_patron


def checked(raw: str):
    v = Validator()
    address = check_address(raw, v, "new_email")
    return address, v.failures


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("hanako@example.jp", "hanako@example.jp"),
        ("Hanako.Koga+library@Example.CO.JP", "Hanako.Koga+library@example.co.jp"),
        ("taro_1-2@sub.example.ne.jp", "taro_1-2@sub.example.ne.jp"),
        ("  hanako@example.jp\u3000", "hanako@example.jp"),  # spaces around are only a slip
        ("k.o.g.a@docomo.ne.jp", "k.o.g.a@docomo.ne.jp"),
        ("hanako@mail.com", "hanako@mail.com"),  # a real domain that merely looks like gmail.com
    ],
)
def test_good_addresses_are_accepted_with_the_domain_in_lower_case(raw, stored):
    assert checked(raw) == (stored, [])


@pytest.mark.parametrize(
    ("raw", "code", "suggestion"),
    [
        ("", ErrorCode.EMAIL_REQUIRED, None),
        ("   ", ErrorCode.EMAIL_REQUIRED, None),
        # Spaces inside
        ("hanako koga@example.jp", ErrorCode.EMAIL_HAS_SPACE, "hanakokoga@example.jp"),
        ("hanako\u3000@example.jp", ErrorCode.EMAIL_HAS_SPACE, "hanako@example.jp"),
        # Full-width characters (全角)
        ("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ", ErrorCode.EMAIL_FULL_WIDTH, "hanako@example.jp"),
        ("hanako＠example.jp", ErrorCode.EMAIL_FULL_WIDTH, "hanako@example.jp"),
        ("hanako@example。jp", ErrorCode.EMAIL_FULL_WIDTH, "hanako@example.jp"),
        ("koga－hanako@example.jp", ErrorCode.EMAIL_FULL_WIDTH, "koga-hanako@example.jp"),
        ("はなこ@example.jp", ErrorCode.EMAIL_FULL_WIDTH, None),
        # A comma for a dot
        ("hanako@example,jp", ErrorCode.EMAIL_COMMA, "hanako@example.jp"),
        ("hanako@yahoo,co,jp", ErrorCode.EMAIL_COMMA, "hanako@yahoo.co.jp"),
        ("hanako,koga@example.jp", ErrorCode.EMAIL_COMMA, "hanako.koga@example.jp"),
        # No @
        ("hanako.example.jp", ErrorCode.EMAIL_MISSING_AT, None),
        # Dots the guide warns about: no suggestion, the patron must know their real address
        ("hanako..koga@docomo.ne.jp", ErrorCode.EMAIL_CONSECUTIVE_DOTS, None),
        ("hanako@example..jp", ErrorCode.EMAIL_CONSECUTIVE_DOTS, None),
        ("hanako.@docomo.ne.jp", ErrorCode.EMAIL_DOT_BEFORE_AT, None),
        # No dot in the domain
        ("hanako@examplejp", ErrorCode.EMAIL_MISSING_DOMAIN_DOT, None),
        ("hanako@gmailcom", ErrorCode.EMAIL_MISSING_DOMAIN_DOT, "hanako@gmail.com"),
        ("hanako@docomonejp", ErrorCode.EMAIL_MISSING_DOMAIN_DOT, "hanako@docomo.ne.jp"),
        # Misspelt domains of the providers most patrons use
        ("hanako@gmial.com", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@gmail.com"),
        ("hanako@gmail.con", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@gmail.com"),
        ("hanako@GMAIL.CON", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@gmail.com"),
        ("hanako@yahoo.co.jo", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@yahoo.co.jp"),
        ("hanako@docomo.ne.jo", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@docomo.ne.jp"),
        ("hanako@ezweb.ne.jo", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@ezweb.ne.jp"),
        ("hanako@softbank.ne.jo", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@softbank.ne.jp"),
        ("hanako@icloud.con", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@icloud.com"),
        ("hanako@i.softbank.co.jp", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@i.softbank.jp"),
        ("hanako@example.con", ErrorCode.EMAIL_DOMAIN_TYPO, "hanako@example.com"),
        # Everything else that is not an address
        ("hanako@", ErrorCode.EMAIL_INVALID, None),
        ("@example.jp", ErrorCode.EMAIL_INVALID, None),
        ("hana@ko@example.jp", ErrorCode.EMAIL_INVALID, None),
        (".hanako@example.jp", ErrorCode.EMAIL_INVALID, None),
        ("hanako@-example.jp", ErrorCode.EMAIL_INVALID, None),
        ("hanako@exa_mple.jp", ErrorCode.EMAIL_INVALID, None),
        ("hanako@example.test", ErrorCode.EMAIL_INVALID, None),
        ("h" * 65 + "@example.jp", ErrorCode.EMAIL_INVALID, None),
    ],
)
def test_each_typing_mistake_has_its_own_code_and_the_obvious_fix(raw, code, suggestion):
    _, failures = checked(raw)
    assert [f.code for f in failures] == [code]
    assert failures[0].field == ("new_email",)
    assert failures[0].params.get("suggestion") == suggestion


def test_messages_are_japanese_and_show_the_likely_fix():
    _, [comma] = checked("hanako@example,jp")
    assert message_for(comma) == (
        "メールアドレスに「,」（カンマ）が含まれています。「.」（ドット）の入力誤りではありませんか。"
        "（もしかして：hanako@example.jp）"
    )
    _, [typo] = checked("hanako@gmial.com")
    assert message_for(typo) == "「@」より後ろの「gmial.com」は入力誤りと思われます。（もしかして：hanako@gmail.com）"
    _, [dots] = checked("hanako..koga@docomo.ne.jp")
    assert "連続" in message_for(dots) and "もしかして" not in message_for(dots)


async def test_a_refused_address_changes_nothing_and_sends_nothing(client, deps):
    await make_patron(deps, email="old@example.jp")
    await client.login("101234567", DEFAULT_PASSWORD)

    payload = await client.mutate("requestEmailChange", {"newEmail": "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ"},
                                  "pendingEmail patron { email }")

    assert payload["errors"] == [{
        "code": "EMAIL_FULL_WIDTH", "field": ["input", "newEmail"],
        "message": "メールアドレスに全角文字が含まれています。すべて半角で入力してください。"
                   "（もしかして：hanako@example.jp）",
    }]
    assert payload["pendingEmail"] is None
    patron = await Patron.get()
    assert (patron.email, patron.pending_email) == ("old@example.jp", None)
    assert await OneTimeToken.all().count() == 0 and await Notice.all().count() == 0
