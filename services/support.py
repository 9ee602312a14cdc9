"""How people reach a human: the support contacts admins set, in Russian and English.

Everyone may read them; admins and owners set them (`set_contacts`, audited). An empty English
text means the Russian one is shown to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.models import utcnow
from database.repositories import audit
from database.repositories import org_texts as repo
from services.actor import Actor
from services.errors import DomainError

CONTACTS_KEY = "support.contacts"
TEXT_MAX = 1000  # characters of each language's text
OTHER_CATEGORY = "other"  # the ticket category a "support" ticket starts in


class InvalidSupportText(DomainError):
    """A text that does not fit. code: empty, too_long; `length` is the stripped length."""

    def __init__(self, code: str, length: int) -> None:
        super().__init__(code)
        self.code = code
        self.length = length


@dataclass(frozen=True, slots=True)
class SupportText:
    ru: str
    en: str | None  # None: the Russian text for everyone
    updated_at: datetime | None = None

    def in_language(self, language: str) -> str:
        """The text for a reader of `language`, the Russian one where there is no other."""
        return self.en if language == "en" and self.en else self.ru


def parse_text(text: str | None) -> str:
    """The text as it will be stored: stripped, 1..TEXT_MAX characters."""
    value = (text or "").strip()
    if not value:
        raise InvalidSupportText("empty", 0)
    if len(value) > TEXT_MAX:
        raise InvalidSupportText("too_long", len(value))
    return value


async def contacts(session: AsyncSession) -> SupportText | None:
    """The support contacts, or None while no admin has set them."""
    row = await repo.get(session, CONTACTS_KEY)
    if row is None or not row.text_ru:
        return None
    return SupportText(row.text_ru, row.text_en or None, row.updated_at)


async def set_contacts(session: AsyncSession, actor: Actor, ru: str, en: str | None) -> SupportText:
    """Replace the support contacts; `en` empty or None shows the Russian text to everyone.
    Audited with the texts before and after; nothing is written when nothing changes."""
    actor.require(Role.ADMIN)
    ru = parse_text(ru)
    en = parse_text(en) if en and en.strip() else None
    before = await contacts(session)
    if before is not None and (before.ru, before.en) == (ru, en):
        return before
    await repo.upsert(session, CONTACTS_KEY, ru=ru, en=en, updated_by_id=actor.user_id)
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="support.contacts",
        object_type="org_text",
        object_id=None,
        before={"ru": before.ru, "en": before.en} if before is not None else None,
        after={"ru": ru, "en": en},
    )
    return SupportText(ru, en, utcnow())
