"""SLA reminder and escalation messages: the request, how late it is, a button to open it; and
the digest of many in one message."""

from __future__ import annotations

import pytest

from bot.keyboards.requests import RequestOpen
from bot.outbox.parts import TEXT_LIMIT, build_calls, utf16_len
from bot.outbox.renderers import RendererRegistry
from bot.sla_notifications import register_sla_templates
from database.models import User
from emulator.html_check import parse_html


@pytest.fixture
def registry(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="ru")
    register_sla_templates(registry, i18n)
    return registry


@pytest.mark.parametrize(
    ("template", "deadline", "language", "expected"),
    [
        ("sla.reminder", "accept", "en", "is waiting to be taken, 1 h 05 min past its deadline"),
        ("sla.escalation", "accept", "en", "Escalation: request К-2026-000001 has not been taken"),
        ("sla.reminder", "resolve", "en", "is not done yet, 1 h 05 min past"),
        ("sla.reminder", "accept", "ru", "К-2026-000001"),
    ],
)
async def test_messages_name_the_request_and_lateness(
    registry, template, deadline, language, expected
) -> None:
    payload = {
        "request_id": 7,
        "number": "К-2026-000001",
        "deadline": deadline,
        "late_minutes": 65,
        "kind": "order",
    }
    message = await registry.render(template, payload, User(telegram_id=1, language=language))
    plain, _ = parse_html(message.text)  # valid HTML for Telegram
    assert expected in plain
    (button,) = message.reply_markup.inline_keyboard[0]
    assert RequestOpen.unpack(button.callback_data).request_id == 7


async def test_russian_texts_are_translated(registry) -> None:
    payload = {
        "request_id": 7,
        "number": "К-2026-000001",
        "deadline": "accept",
        "late_minutes": 15,
        "kind": "order",
    }
    message = await registry.render("sla.reminder", payload, User(telegram_id=1, language="ru"))
    assert "Reminder" not in message.text and "15" in message.text


def _item(n: int, *, branch: str = "Филиал «Север»", level: str = "reminder") -> dict:
    return {
        "request_id": n,
        "number": f"К-2026-{n:06d}",
        "branch": branch,
        "deadline": "accept" if n % 2 else "resolve",
        "level": level,
        "late_minutes": 65,
    }


async def test_a_digest_lists_reminders_then_escalations(registry) -> None:
    items = [
        _item(1),
        _item(2, branch=""),
        _item(3, branch="Склад <А> & Б", level="escalation"),
    ]
    message = await registry.render(
        "sla.digest", {"items": items}, User(telegram_id=1, language="en")
    )
    plain, _ = parse_html(message.text)  # the branch name is escaped: valid HTML
    assert plain == (
        "Reminder — requests past their deadlines: 2\n"
        "К-2026-000001 (Филиал «Север»): not taken, 1 h 05 min past the deadline — /view_1\n"
        "К-2026-000002: not done, 1 h 05 min past the deadline — /view_2\n"
        "\n"
        "Escalation — requests past their deadlines: 1\n"
        "К-2026-000003 (Склад <А> & Б): not taken, 1 h 05 min past the deadline — /view_3"
    )
    assert message.reply_markup is None
    message = await registry.render(
        "sla.digest", {"items": items}, User(telegram_id=1, language="ru")
    )
    plain, _ = parse_html(message.text)
    assert plain.startswith(
        "Напоминание — заявки с превышенным сроком: 2\n"
        "К-2026-000001 (Филиал «Север»): не взята в работу, срок превышен на 1 ч 05 мин"
        " — /view_1\n"
        "К-2026-000002: не выполнена, срок превышен на 1 ч 05 мин — /view_2\n\n"
        "Эскалация — заявки с превышенным сроком: 1\n"
    )


async def test_requests_left_out_of_a_digest_are_counted_in_russian(registry) -> None:
    """Seen: «… и ещё 173» with no noun: now the noun follows in its form."""
    items = [_item(n, branch="🏢" * 40) for n in range(1, 201)]
    message = await registry.render(
        "sla.digest", {"items": items}, User(telegram_id=1, language="ru")
    )
    lines = message.text.split("\n")
    left = 200 - len([line for line in lines if line.startswith("К-2026-")])
    if left % 10 == 1 and left % 100 != 11:
        noun = "заявка"
    elif 2 <= left % 10 <= 4 and not 12 <= left % 100 <= 14:
        noun = "заявки"
    else:
        noun = "заявок"
    assert lines[-1] == f"… и ещё {left} {noun}"


async def test_a_long_digest_is_cut_in_utf16_units(registry) -> None:
    """Each 🏢 is one character but two UTF-16 units, as Telegram counts: the digest stays
    within 4,096 units and counts what it leaves out."""
    items = [_item(n, branch="🏢" * 40) for n in range(1, 201)]
    message = await registry.render(
        "sla.digest", {"items": items}, User(telegram_id=1, language="en")
    )
    assert len(message.text) < utf16_len(message.text) <= TEXT_LIMIT
    lines = message.text.split("\n")
    shown = [line for line in lines if line.startswith("К-2026-")]
    assert lines[-1] == f"… and {200 - len(shown)} more requests"
    assert lines[0] == "Reminder — requests past their deadlines: 200"
    assert len(build_calls(1, message)) == 1


async def test_a_digest_that_fits_has_no_last_line(registry) -> None:
    items = [_item(n) for n in range(1, 41)]
    message = await registry.render(
        "sla.digest", {"items": items}, User(telegram_id=1, language="ru")
    )
    assert utf16_len(message.text) <= TEXT_LIMIT
    assert all(item["number"] in message.text for item in items)
    assert "ещё" not in message.text
