"""Random input through the whole dispatcher, for each role (property-based, `hypothesis`).

Each example is a sequence of updates from one person: text, commands with odd arguments,
photos, documents, locations and contacts, replies to the bot's messages, presses of buttons the
bot has just shown, forged button data built from every button prefix the bot knows, and the
odd message in a group. Whatever the sequence:

- no update raises (an unhandled exception would leave the person without an answer);
- every update is answered: a message in the private chat gets at least one message or edit
  back, a button press gets its callback answer; in a group at most one line and never a file;
- nothing the person has no right to changes: other people's roles and access, the catalogue,
  branches, categories, invites and quick replies (below admin), the stock (unless they serve the
  cartridge category), and the requests they may not work on.

The examples of one role share a database, so later examples start where earlier ones left off
(a dialog half-way, a request taken); the protected rows are compared with the state before the
first example. Sized for `make test`: EXAMPLES per role, STEPS updates at most per example.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendDocument, SendMessage
from aiogram.types import (
    Chat,
    Contact,
    Document,
    Location,
    Message,
    PhotoSize,
    Update,
)
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.routers import build_routers
from database.engine import create_engine, create_sessionmaker
from database.enums import Role, UserStatus
from database.models import Request
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services import sla, tickets
from services.actor import Actor
from tests import factories
from tests.bot_harness import BotHarness, build_harness
from tests.conftest import OWNER_ID
from tests.test_bot_requests import (
    KEEPER,
    OTHER_USER,
    REQUESTER,
    SUPERVISOR,
    TECHNICIAN,
    new_order,
    setup_org,
)
from tests.updates import callback_update, message_update, tg_user
from utils.settings import load_settings

EXAMPLES = 50
STEPS = 8

OWNER = tg_user(OWNER_ID, "Ольга")
ADMIN = tg_user(4100, "Админ")
PENDING = tg_user(5000, "Ждущий")
STRANGER = tg_user(6000, "Незнакомец")
GROUP = Chat(id=-100500, type="supergroup", title="Офис")
BIG = 2**64

COMMANDS = [
    "/start", "/help", "/lang", "/cancel", "/my", "/queue", "/tickets", "/stats", "/report",
    "/quick", "/admin", "/invite", "/invites", "/role", "/deactivate", "/activate", "/backup",
    "/order", "/ticket", "/reply", "/view_", "/start inv_", "/unknown", "/status", "/support",
    "/support_edit", "/branches", "/sla", "/categories", "/calendar", "/onboarding",
]  # fmt: skip
# (what may change) per role: the protected parts of the database are the others.
# For the admin and the owner the set is empty, on purpose: they may change every part (people,
# the catalogue, stock, any request), so the "nothing protected changed" check at the end of
# each example compares nothing for them; their runs check only that every update is answered
# and that none raises. (Not "every change of theirs left an audit row" either: a message in a
# request's conversation is a row of its own with no audit row, and several audited actions
# change more than one table, so such a check could not say which change an audit row covers.)
PEOPLE, CATALOGUE, STOCK, ORDER, TICKET = "people", "catalogue", "stock", "order", "ticket"
PROTECTED = {
    "stranger": {PEOPLE, CATALOGUE, STOCK, ORDER, TICKET},
    "pending": {PEOPLE, CATALOGUE, STOCK, ORDER, TICKET},
    "requester": {PEOPLE, CATALOGUE, STOCK, TICKET},  # may cancel or confirm the own order
    "other user": {PEOPLE, CATALOGUE, STOCK, ORDER},  # the ticket's author
    "storekeeper": {PEOPLE, CATALOGUE, TICKET},
    "technician": {PEOPLE, CATALOGUE, STOCK, ORDER},
    "supervisor": {PEOPLE, CATALOGUE},
    "admin": set(),
    "owner": set(),
}
WHO = {
    "stranger": STRANGER,
    "pending": PENDING,
    "requester": REQUESTER,
    "other user": OTHER_USER,
    "storekeeper": KEEPER,
    "technician": TECHNICIAN,
    "supervisor": SUPERVISOR,
    "admin": ADMIN,
    "owner": OWNER,
}
QUERIES = {
    PEOPLE: [
        "SELECT telegram_id, role, status, is_active, branch_id FROM users "
        "WHERE telegram_id != :me",
        "SELECT uc.* FROM user_categories uc JOIN users u ON u.id = uc.user_id "
        "WHERE u.telegram_id != :me",
    ],
    CATALOGUE: [
        f"SELECT * FROM {table}"
        for table in (
            "cartridge_types",
            "cartridge_printers",
            "branches",
            "branch_printers",
            "categories",
            "invites",
            "quick_replies",
            "sla_policies",
            "calendar_hours",
            "calendar_years",
            "calendar_days",
            "org_texts",
        )
    ],
    STOCK: ["SELECT * FROM stock_items", "SELECT * FROM stock_movements"],
    ORDER: [
        "SELECT * FROM requests WHERE id = :order",
        "SELECT * FROM messages WHERE request_id = :order",
    ],
    TICKET: [
        "SELECT * FROM requests WHERE id = :ticket",
        "SELECT * FROM messages WHERE request_id = :ticket",
    ],
}


def _button_kinds() -> list[type[CallbackData]]:
    build_routers()  # imports every keyboard module
    kinds, stack = [], list(CallbackData.__subclasses__())
    while stack:
        kind = stack.pop()
        kinds.append(kind)
        stack.extend(kind.__subclasses__())
    return sorted(kinds, key=lambda kind: kind.__prefix__)


KINDS = _button_kinds()
PREFIXES = [kind.__prefix__ for kind in KINDS]
_ids = itertools.count(10_000)


@dataclass
class World:
    order: int
    ticket: int


@dataclass(repr=False)
class Run:
    """One role's run: shared by its examples."""

    harness: BotHarness
    sessionmaker: async_sessionmaker[AsyncSession]
    world: World
    before: dict[str, list[str]] | None = None  # the protected rows before the first example
    buttons: list[str] = field(default_factory=list)  # buttons shown so far, newest last

    def __repr__(self) -> str:  # hypothesis prints it with a failing example
        return f"Run({self.world})"


async def _build_world(sessionmaker) -> World:
    org = await setup_org(sessionmaker)
    order = await new_order(sessionmaker, org)
    async with sessionmaker() as session:
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await factories.user(session, OWNER_ID, role=Role.OWNER, full_name="Ольга")
        await factories.user(session, PENDING.id, status=UserStatus.PENDING, full_name="Ждущий Ж.")
        author = await users_repo.by_telegram_id(session, OTHER_USER.id)
        created = await tickets.create(
            session,
            Actor.build(OTHER_USER.id, author, frozenset()),
            client_token="fuzz-ticket",
            category_id=(await org_repo.category_by_code(session, "it")).id,
            priority="normal",
            subject="Не работает почта",
            description="С утра не отправляется",
        )
        await session.commit()
    return World(order=order, ticket=created.request.id)


async def _protected(sessionmaker, world: World, role: str, me: int) -> dict[str, list[str]]:
    params = {"me": me, "order": world.order, "ticket": world.ticket}
    found: dict[str, list[str]] = {}
    async with sessionmaker() as session:
        for part in PROTECTED[role]:
            for sql in QUERIES[part]:
                rows = await session.execute(text(sql), params)
                found[sql] = sorted(repr(tuple(row)) for row in rows)
    return found


# --- what one person may send ----------------------------------------------------------------

ODD_NUMBERS = st.sampled_from(["0", "-1", "²", "٣", str(BIG), "1e3", "9223372036854775807"])
SMALL_IDS = st.integers(min_value=1, max_value=6).map(str)
WORDS = st.text(max_size=40) | st.sampled_from(
    ["admin", "executor", "исполнитель", "картриджи", "@petrov", "critical new", "отмена", " "]
)
ARGUMENT = SMALL_IDS | ODD_NUMBERS | WORDS


@st.composite
def commands(draw) -> str:
    command = draw(st.sampled_from(COMMANDS))
    if command.endswith("_"):
        return command + draw(SMALL_IDS | ODD_NUMBERS | st.text(max_size=8))
    args = draw(st.lists(ARGUMENT, max_size=3))
    return " ".join([command, *args])


def _field_values(annotation) -> st.SearchStrategy:
    """Values for one field of a button: the world's ids (1-6) mostly, and the odd ones."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:  # 1 and 2: the world's order and ticket
        return st.sampled_from([1, 2, 1, 2, 0, 3, 6, -1, 2**63, BIG])
    return st.sampled_from(["", "my", "new", "ru", "en", "it", "cartridges", "x:y"]) | st.text(
        max_size=6
    )


@st.composite
def shaped_data(draw) -> str:
    """Button data of a kind the bot knows, every field filled at random (not validated, so
    an id may be out of range): what a forged or stale button of that kind carries."""
    kind = draw(st.sampled_from(KINDS))
    values = {name: draw(_field_values(f.annotation)) for name, f in kind.model_fields.items()}
    try:
        return kind.model_construct(**values).pack()
    except ValueError:  # a value with the separator in it: not a button Telegram would carry
        return kind.__prefix__


@st.composite
def forged_data(draw) -> str:
    """Button data from a known prefix with random values: ids of the world's requests, odd
    numbers, words the buttons use, or anything up to Telegram's 64 bytes."""
    prefix = draw(st.sampled_from(PREFIXES))
    values = st.one_of(
        SMALL_IDS,
        ODD_NUMBERS,
        st.sampled_from(["take", "start", "done", "reject", "cancel", "my", "1", "0", ""]),
        st.text(alphabet=st.characters(codec="ascii"), max_size=6),
    )
    parts = draw(st.lists(values, max_size=5))
    data = ":".join([prefix, *parts])
    return data.encode()[:64].decode(errors="ignore")


def _message(user, **fields) -> Update:
    message = Message(
        message_id=next(_ids),
        date=datetime.now(UTC),
        chat=Chat(id=user.id, type="private"),
        from_user=user,
        **fields,
    )
    return Update(update_id=next(_ids), message=message)


LOOK = st.sampled_from(["/view_1", "/view_2", "/queue", "/tickets", "/my"])
MEDIA = st.sampled_from(["photo", "document", "location", "contact"])


def _media(user, kind: str, caption: str) -> Update:
    n = next(_ids)
    if kind == "photo":
        size = PhotoSize(file_id=f"ph{n}", file_unique_id=f"u{n}", width=90, height=90)
        return _message(user, photo=[size], caption=caption or None)
    if kind == "document":
        doc = Document(file_id=f"d{n}", file_unique_id=f"u{n}", file_name=caption[:20] or None)
        return _message(user, document=doc, caption=caption or None)
    if kind == "location":
        return _message(user, location=Location(latitude=55.75, longitude=37.61))
    return _message(user, contact=Contact(phone_number="+70000000000", first_name="Кто-то"))


def _in_group(update: Update) -> Update:
    return update.model_copy(update={"message": update.message.model_copy(update={"chat": GROUP})})


# --- the run ---------------------------------------------------------------------------------


def _describe(update: Update) -> str:
    if update.callback_query is not None:
        return f"press {update.callback_query.data!r}"
    message = update.message
    media = next(
        (k for k in ("photo", "document", "location", "contact") if getattr(message, k)), ""
    )
    where = "" if message.chat.type == "private" else " in a group"
    reply = " (a reply)" if message.reply_to_message else ""
    return f"{media or 'text'} {message.text or message.caption or ''!r}{reply}{where}"


def _answered(harness, user_id: int, update: Update) -> str | None:
    """What is wrong with the bot's answer to the update, or None."""
    calls = harness.bot.calls
    if update.callback_query is not None:
        if not harness.bot.calls_of(AnswerCallbackQuery):
            return "the button press got no callback answer"
        return None
    chat = update.message.chat
    if chat.type != "private":
        to_group = [c for c in calls if int(getattr(c, "chat_id", 0) or 0) == chat.id]
        if len(to_group) > 1 or any(isinstance(c, SendDocument) for c in to_group):
            return f"a group got {[type(c).__name__ for c in to_group]}"
        return None
    if not any(
        isinstance(c, SendMessage | EditMessageText | SendDocument)
        and int(c.chat_id or 0) == user_id
        for c in calls
    ):
        return "the message got no answer"
    return None


def _seen_buttons(harness, user_id: int) -> list[str]:
    found = []
    for call in harness.bot.calls:
        if int(getattr(call, "chat_id", 0) or 0) != user_id:
            continue
        markup = getattr(call, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or []:
            found.extend(b.callback_data for b in row if b.callback_data)
        for row in getattr(markup, "keyboard", None) or []:
            found.extend(f"text:{b.text}" for b in row)
    return found


@pytest.fixture
async def fuzz_world(sqlite_url: str, i18n, tmp_path: Path):
    engine = create_engine(sqlite_url)
    sessionmaker = create_sessionmaker(engine)
    world = await _build_world(sessionmaker)
    local = load_settings(
        _env_file=None,
        bot_token="42:TEST",
        admin_ids=str(OWNER_ID),
        database_url=sqlite_url,
        default_language="en",
        telegram_api_url="http://127.0.0.1:9",
        backup_dir=tmp_path / "backups",
        report_dir=tmp_path / "reports",
        flood_limit=1000,  # faster than any person: the flood limit has tests of its own
    )
    yield Run(build_harness(local, sessionmaker, i18n), sessionmaker, world)
    sla.configure(None)  # an admin's /calendar changes the process-wide calendar
    await engine.dispose()


@pytest.mark.parametrize("role", list(WHO))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_input_is_answered_and_changes_only_what_the_role_may(
    fuzz_world, role: str, data
) -> None:
    run, user = fuzz_world, WHO[role]
    harness = run.harness
    if run.before is None:  # the first example of this role
        run.before = await _protected(run.sessionmaker, run.world, role, user.id)
    steps = data.draw(st.integers(min_value=1, max_value=STEPS), label="steps")
    for _ in range(steps):
        kind = data.draw(
            st.sampled_from(
                ["text", "command", "look", "media", "seen", "seen", "forged", "reply", "group"]
            )
        )
        # The same draws whatever the bot showed, so that hypothesis can replay a sequence.
        pick = (
            data.draw(st.integers(min_value=0, max_value=29), label="button")
            if kind == "seen"
            else 0
        )
        if kind == "seen" and not run.buttons:
            update = message_update(user, "?")  # nothing shown yet: no draw depends on it
        elif kind == "seen":
            pressed = run.buttons[-1 - pick % len(run.buttons[-30:])]
            update = (
                message_update(user, pressed.removeprefix("text:"))
                if pressed.startswith("text:")
                else callback_update(user, pressed, message_id=next(_ids))
            )
        elif kind == "forged":
            forged = data.draw(shaped_data() | forged_data(), label="data")
            update = callback_update(user, forged, message_id=next(_ids))
        elif kind == "look":  # what shows cards and their buttons
            update = message_update(user, data.draw(LOOK, label="look"))
        elif kind == "command":
            update = message_update(user, data.draw(commands(), label="command"))
        elif kind == "media":
            caption = data.draw(st.text(max_size=30), label="caption")
            update = _media(user, data.draw(MEDIA, label="media"), caption)
        elif kind == "reply":
            bot_message = Message(
                message_id=data.draw(st.integers(1, 50)),
                date=datetime.now(UTC),
                chat=Chat(id=user.id, type="private"),
                from_user=tg_user(42, "Helpdesk"),
                text="…",
            )
            words = data.draw(WORDS, label="reply")
            update = _message(user, text=words or "?", reply_to_message=bot_message)
        elif kind == "group":
            update = _in_group(message_update(user, data.draw(commands() | WORDS) or "?"))
        else:
            update = message_update(user, data.draw(WORDS, label="text") or "?")

        note(f"{kind}: {_describe(update)}")  # printed with a failing example
        await harness.feed(update)  # raises on an unhandled exception

        problem = _answered(harness, user.id, update)
        assert problem is None, (problem, update.model_dump(exclude_none=True))
        run.buttons.extend(_seen_buttons(harness, user.id))
    after = await _protected(run.sessionmaker, run.world, role, user.id)
    changed = [sql for sql in run.before if run.before[sql] != after[sql]]
    assert not changed, changed


async def test_the_world_has_what_the_roles_need(fuzz_world) -> None:
    """The protected requests exist and belong where the table above says."""
    world = fuzz_world.world
    async with fuzz_world.sessionmaker() as session:
        order = await session.get(Request, world.order)
        ticket = await session.get(Request, world.ticket)
        requester = await users_repo.by_telegram_id(session, REQUESTER.id)
        other = await users_repo.by_telegram_id(session, OTHER_USER.id)
    assert (order.kind, order.author_id) == ("order", requester.id)
    assert (ticket.kind, ticket.author_id) == ("ticket", other.id)
