"""Quick replies in the domain layer, on both engines: who may manage and use them, input
limits, which ones a request offers, soft deletion, and posting one into a request's thread."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from database.enums import Role
from database.models import AuditLog, QuickReply, Request, RequestMessage
from services import quick_replies as service
from services import workflow
from services.errors import NotFound, PermissionDenied
from services.quick_replies import InvalidQuickReply
from services.workflow import Action
from tests import factories
from tests.test_tickets import act, build_world, outbox, ticket


async def admin(session):
    return act(await factories.user(session, 2500, role=Role.ADMIN, full_name="Админов А."))


async def add(session, actor, title: str, category=None, text: str | None = None) -> int:
    reply = await service.add(
        session,
        actor,
        title=title,
        text=text or f"Text of {title}",
        category_id=category.id if category else None,
    )
    return reply.id


def titles(replies) -> list[str]:
    return [r.title for r in replies]


async def test_add_checks_title_text_and_category(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    reply = await service.add(
        session,
        boss,
        title="  Reboot   the\nPC ",
        text="  Please reboot the PC.\nThen write back. ",
        category_id=w.cats["it"].id,
    )
    assert (reply.title, reply.text) == ("Reboot the PC", "Please reboot the PC.\nThen write back.")
    assert reply.is_active and reply.created_by_id == boss.user_id
    [audit] = await session.scalars(
        select(AuditLog).where(AuditLog.action == "quick_reply.created")
    )
    assert audit.object_id == reply.id and audit.after["category_id"] == w.cats["it"].id

    assert (await service.add(session, boss, title="x" * 100, text="y" * 4096, category_id=None)).id
    for title, text, code in (
        ("", "text", "empty"),
        ("  \n ", "text", "empty"),
        ("x" * 101, "text", "too_long"),
        ("title", "   ", "empty"),
        ("title", "y" * 4097, "too_long"),
    ):
        with pytest.raises(InvalidQuickReply) as exc:
            await service.add(session, boss, title=title, text=text, category_id=None)
        assert exc.value.code == code
    # cartridge orders are no ticket category; an unknown or inactive one is refused too
    w.cats["other"].is_active = False
    for category_id in (w.cats["cartridges"].id, w.cats["other"].id, 999_999, 2**70):
        with pytest.raises(NotFound):
            await service.add(session, boss, title="t", text="x", category_id=category_id)
    assert len(list(await session.scalars(select(QuickReply)))) == 2


async def test_only_admins_manage_and_only_staff_use(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    reply_id = await add(session, boss, "General")
    rid = (await ticket(session, w)).request.id
    for actor in (act(w.requester), act(w.it_tech), act(w.supervisor)):
        with pytest.raises(PermissionDenied):
            await service.add(session, actor, title="t", text="x", category_id=None)
        with pytest.raises(PermissionDenied):
            await service.remove(session, actor, reply_id)
        with pytest.raises(PermissionDenied):
            await service.page(session, actor, 0, 8)
        with pytest.raises(PermissionDenied):
            await service.get(session, actor, reply_id)
        with pytest.raises(PermissionDenied):
            await service.categories(session, actor)
    for actor in (act(w.requester), act(w.neighbour)):
        with pytest.raises(PermissionDenied):
            await service.for_request(session, actor, rid)
        with pytest.raises(PermissionDenied):
            await service.send(session, actor, rid, reply_id)
    # the owner (ADMIN_IDS) manages them without a user row's role
    owner = act(None, telegram_id=1000)
    assert (await service.page(session, owner, 0, 8)).total == 1
    assert [c.code for c in await service.categories(session, owner)] == [
        "repair",
        "maintenance",
        "it",
        "other",
    ]


async def test_a_request_offers_its_category_then_general_ones(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    general = await add(session, boss, "General")
    await add(session, boss, "Repair", w.cats["repair"])
    it_first = await add(session, boss, "IT first", w.cats["it"])
    removed = await add(session, boss, "IT removed", w.cats["it"])
    await add(session, boss, "IT second", w.cats["it"])
    await service.remove(session, boss, removed)
    it_request = (await ticket(session, w)).request.id
    repair_request = (await ticket(session, w, token="tok-2", category="repair")).request.id

    offered = await service.for_request(session, act(w.it_tech), it_request)
    assert titles(offered) == ["IT first", "IT second", "General"]
    offered = await service.for_request(session, act(w.repair_tech), repair_request)
    assert titles(offered) == ["Repair", "General"]
    # a supervisor may write in any request; the requester gets none in their own
    assert len(await service.for_request(session, act(w.supervisor), it_request)) == 3
    # the IT executor does not work on repair requests: to them it is as if it were missing
    with pytest.raises(NotFound):
        await service.for_request(session, act(w.it_tech), repair_request)

    for n in range(10):
        await add(session, boss, f"More {n}", w.cats["it"])
    offered = await service.for_request(session, act(w.it_tech), it_request)
    assert len(offered) == service.OFFERED_MAX
    assert offered[0].id == it_first and general not in [r.id for r in offered]


async def test_own_request_offers_none_and_refuses_a_pick(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    reply_id = await add(session, boss, "General")
    rid = (await ticket(session, w, by=w.it_tech)).request.id
    assert await service.for_request(session, act(w.it_tech), rid) == []
    with pytest.raises(PermissionDenied):
        await service.send(session, act(w.it_tech), rid, reply_id)


async def test_remove_is_soft_and_hides_it(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    keep = await add(session, boss, "Keep", w.cats["it"])
    gone = await add(session, boss, "Gone")
    await service.remove(session, boss, gone)
    row = await session.get(QuickReply, gone)
    assert row is not None and row.is_active is False and row.title == "Gone"
    [audit] = await session.scalars(
        select(AuditLog).where(AuditLog.action == "quick_reply.removed")
    )
    assert audit.object_id == gone and audit.after == {"is_active": False}
    page = await service.page(session, boss, 0, 8)
    assert [e.id for e in page.entries] == [keep] and page.total == 1
    assert page.entries[0].category_en == "IT help"
    for call in (service.get, service.remove):
        with pytest.raises(NotFound):
            await call(session, boss, gone)
    rid = (await ticket(session, w)).request.id
    with pytest.raises(NotFound):
        await service.send(session, act(w.it_tech), rid, gone)
    assert list(await session.scalars(select(RequestMessage))) == []


async def test_page_lists_general_first_and_clamps(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    await add(session, boss, "IT", w.cats["it"])
    await add(session, boss, "Repair", w.cats["repair"])
    await add(session, boss, "General")
    first = await service.page(session, boss, 0, 2)
    assert [e.title for e in first.entries] == ["General", "Repair"]
    assert (first.page, first.pages, first.total) == (0, 2, 3)
    assert first.entries[0].category_ru is None
    last = await service.page(session, boss, 7, 2)
    assert [e.title for e in last.entries] == ["IT"] and last.page == 1


async def test_send_posts_the_text_into_the_thread(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    reply_id = await add(session, boss, "Reboot", w.cats["it"], text="Please <b>reboot</b>.")
    rid = (await ticket(session, w)).request.id
    await workflow.apply(session, act(w.it_tech), rid, Action.TAKE)
    await workflow.apply(session, act(w.it_tech), rid, Action.START)

    request = await service.send(session, act(w.it_tech), rid, reply_id, question=True)
    assert request.id == rid
    assert (await session.get(Request, rid)).status == "waiting"
    [message] = await session.scalars(select(RequestMessage))
    assert (message.text, message.author_id) == ("Please <b>reboot</b>.", w.it_tech.id)
    assert message.is_question is True
    [row] = [
        m for m in await outbox(session, w.requester.telegram_id) if m.template == "request.message"
    ]
    assert row.payload["text"] == "Please <b>reboot</b>." and row.payload["question"] is True


async def test_forged_picks_are_refused(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    repair_reply = await add(session, boss, "Repair", w.cats["repair"])
    general = await add(session, boss, "General")
    rid = (await ticket(session, w)).request.id
    await workflow.apply(session, act(w.it_tech), rid, Action.TAKE)
    # another category's quick reply
    with pytest.raises(PermissionDenied):
        await service.send(session, act(w.it_tech), rid, repair_reply)
    # someone else's request: the repair executor may not see an IT ticket
    with pytest.raises(NotFound):
        await service.send(session, act(w.repair_tech), rid, general)
    for bad_id in (0, -1, 2**70):
        with pytest.raises(NotFound):
            await service.send(session, act(w.it_tech), rid, bad_id)
        with pytest.raises(NotFound):
            await service.send(session, act(w.it_tech), bad_id, general)
    assert list(await session.scalars(select(RequestMessage))) == []


async def test_update_changes_title_and_text_and_audits_what_changed(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    reply_id = await add(session, boss, "Reboot", w.cats["it"], text="Please reboot.")

    assert await service.update(
        session, boss, reply_id, title="  Reboot   the PC ", text=" Please reboot the PC. "
    )
    row = await session.get(QuickReply, reply_id)
    assert (row.title, row.text, row.category_id) == (
        "Reboot the PC",
        "Please reboot the PC.",
        w.cats["it"].id,
    )
    # only the text changes now: the audit row names it alone
    assert await service.update(session, boss, reply_id, title="Reboot the PC", text="Reboot.")
    audits = list(
        await session.scalars(
            select(AuditLog).where(AuditLog.action == "quick_reply.updated").order_by(AuditLog.id)
        )
    )
    assert [(a.object_id, a.actor_id, a.before, a.after) for a in audits] == [
        (
            reply_id,
            boss.user_id,
            {"title": "Reboot", "text": "Please reboot."},
            {"title": "Reboot the PC", "text": "Please reboot the PC."},
        ),
        (reply_id, boss.user_id, {"text": "Please reboot the PC."}, {"text": "Reboot."}),
    ]
    # nothing to change: no audit row
    assert not await service.update(session, boss, reply_id, title="Reboot the PC", text="Reboot.")
    assert len(await audit_rows(session, "quick_reply.updated")) == 2


async def test_update_is_refused_for_bad_input_others_and_removed_ones(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    reply_id = await add(session, boss, "Reboot", text="Please reboot.")
    for title, text, code in (
        ("", "x", "empty"),
        ("t", " ", "empty"),
        ("x" * 101, "x", "too_long"),
    ):
        with pytest.raises(InvalidQuickReply) as exc:
            await service.update(session, boss, reply_id, title=title, text=text)
        assert exc.value.code == code
    for actor in (act(w.requester), act(w.it_tech), act(w.supervisor)):
        with pytest.raises(PermissionDenied):
            await service.update(session, actor, reply_id, title="New", text="New text")
    await service.remove(session, boss, reply_id)
    with pytest.raises(NotFound):
        await service.update(session, boss, reply_id, title="New", text="New text")
    row = await session.get(QuickReply, reply_id)
    assert (row.title, row.text) == ("Reboot", "Please reboot.")
    assert await audit_rows(session, "quick_reply.updated") == []


async def test_send_posts_a_changed_text_with_the_same_checks(session) -> None:
    w = await build_world(session)
    boss = await admin(session)
    reply_id = await add(session, boss, "Reboot", w.cats["it"], text="Please reboot.")
    repair_reply = await add(session, boss, "Repair", w.cats["repair"])
    rid = (await ticket(session, w)).request.id
    await workflow.apply(session, act(w.it_tech), rid, Action.TAKE)

    request, reply = await service.pick(session, act(w.it_tech), rid, reply_id)
    assert (request.id, reply.text) == (rid, "Please reboot.")
    assert list(await session.scalars(select(RequestMessage))) == []  # a pick posts nothing

    await service.send(session, act(w.it_tech), rid, reply_id, text=" Reboot twice, please. ")
    [message] = await session.scalars(select(RequestMessage))
    assert message.text == "Reboot twice, please."
    assert (await session.get(QuickReply, reply_id)).text == "Please reboot."
    # a changed text does not lift the checks of the quick reply it came from
    with pytest.raises(PermissionDenied):
        await service.send(session, act(w.it_tech), rid, repair_reply, text="Anything")
    with pytest.raises(InvalidQuickReply):
        await service.send(session, act(w.it_tech), rid, reply_id, text="   ")
    assert len(list(await session.scalars(select(RequestMessage)))) == 1


async def audit_rows(session, action: str) -> list[AuditLog]:
    return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))
