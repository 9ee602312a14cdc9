"""SLA reminder and escalation messages: the request, how late it is, a button to open it."""

from __future__ import annotations

import pytest

from bot.keyboards.requests import RequestOpen
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
