"""/backup through the real dispatcher: owners get the .gz, everyone else a polite refusal."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from aiogram.methods import SendChatAction, SendDocument, SendMessage
from aiogram.types import FSInputFile

from bot.routers import backup
from bot.texts import decimal, file_size
from database.enums import Role
from services import backup as backups
from tests import factories
from tests.conftest import OWNER_ID
from tests.updates import message_update, tg_user

OWNER = tg_user(OWNER_ID, "Ольга")
ADMIN = tg_user(2000, "Админ")


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url  # backups are of SQLite files (PostgreSQL: pg_dump, tested below)


@pytest.fixture
def settings(settings, tmp_path: Path):
    return settings.model_copy(update={"backup_dir": tmp_path / "backups"})


async def test_owner_gets_the_backup_as_a_document(harness, settings, tmp_path) -> None:
    await harness.feed(message_update(OWNER, "/backup"))

    actions = harness.bot.calls_of(SendChatAction)
    assert actions and actions[0].action == "upload_document" and actions[0].chat_id == OWNER_ID
    [sent] = harness.bot.calls_of(SendDocument)
    assert sent.chat_id == OWNER_ID
    assert isinstance(sent.document, FSInputFile)
    path = Path(sent.document.path)
    assert path.parent == backups.daily_dir(settings) and path.name.endswith(".db.gz")
    assert sent.document.filename == path.name
    assert path.name in sent.caption and "integrity ok" in sent.caption
    restored = tmp_path / "check.db"
    with gzip.open(path, "rb") as src:
        restored.write_bytes(src.read())
    assert restored.read_bytes()[:16] == b"SQLite format 3\x00"


async def test_the_size_is_written_the_russian_way(ru_harness) -> None:
    """Seen: «16.7 KB» in a Russian caption; Russian writes «16,7 КБ»."""
    await ru_harness.feed(message_update(OWNER, "/backup"))
    [sent] = ru_harness.bot.calls_of(SendDocument)
    name = Path(sent.document.path).name
    assert re.fullmatch(
        rf"Резервная копия {name}: \d+(,\d)? (Б|КБ|МБ), целостность в порядке\.", sent.caption
    ), sent.caption


@pytest.mark.parametrize(
    ("size", "russian", "english"),
    [
        (512, "512 Б", "512 B"),
        (16.7 * 1024, "16,7 КБ", "16.7 KB"),
        (1.2 * 1024**2, "1,2 МБ", "1.2 MB"),
        (1023.97 * 1024, "1,0 МБ", "1.0 MB"),  # not «1024,0 КБ»
        (3 * 1024**3, "3,0 ГБ", "3.0 GB"),
    ],
)
def test_file_size_in_each_language(i18n, size: float, russian: str, english: str) -> None:
    for locale, expected in (("ru", russian), ("en", english)):
        with i18n.context(), i18n.use_locale(locale):
            assert file_size(size) == expected
            assert decimal(7.25, 2) == ("7,25" if locale == "ru" else "7.25")


async def test_a_backup_too_large_to_send_says_where_it_is(harness, monkeypatch) -> None:
    monkeypatch.setattr(backup, "MAX_DOCUMENT_BYTES", 10)
    await harness.feed(message_update(OWNER, "/backup"))
    assert not harness.bot.calls_of(SendDocument)
    text = harness.last_reply(OWNER_ID).text
    assert "too large to send" in text and "/daily/helpdesk-" in text


async def test_an_admin_who_is_not_an_owner_is_refused(harness, sessionmaker, settings) -> None:
    async with sessionmaker() as session:
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await session.commit()
    await harness.feed(message_update(ADMIN, "/backup"))
    assert "not allowed" in harness.last_reply(ADMIN.id).text
    assert not harness.bot.calls_of(SendDocument) and not harness.bot.calls_of(SendChatAction)
    assert not settings.backup_dir.exists()

    await harness.feed(message_update(tg_user(3000), "/backup"))  # a stranger
    assert not harness.bot.calls_of(SendDocument)
    assert not settings.backup_dir.exists()


async def test_postgresql_is_explained_not_pretended(harness, settings) -> None:
    harness.dp["settings"] = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:5432/test"}
    )
    await harness.feed(message_update(OWNER, "/backup"))
    assert not harness.bot.calls_of(SendDocument)
    [reply] = harness.bot.calls_of(SendMessage)
    assert "pg_dump" in reply.text
