"""The stock import template (services.stock_files) on both engines: what it holds, and that the
import takes it back unchanged."""

from __future__ import annotations

import itertools
from io import BytesIO

import pytest
from openpyxl import load_workbook

from database.enums import Role
from database.seed import seed
from services import catalogue_admin, stock_files
from services.actor import Actor
from services.errors import PermissionDenied
from tests import factories

NAMES = {"black": "чёрный", "cyan": "голубой"}
_telegram_ids = itertools.count(2000)


def in_russian(colour: str) -> str:
    return NAMES.get(colour, colour)


async def actor_with(session, role: Role) -> Actor:
    user = await factories.user(session, next(_telegram_ids), role=role)
    return Actor.build(user.telegram_id, user, frozenset())


def cells(data: bytes) -> list[tuple]:
    workbook = load_workbook(BytesIO(data), read_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


async def test_template_lists_every_model_and_imports_back_unchanged(session) -> None:
    await seed(session)
    admin = await actor_with(session, Role.ADMIN)
    cyan = await catalogue_admin.create_type(
        session, admin, model="CE311A (126A)", vendor="HP", colour="cyan", printers=[], threshold=1
    )
    await catalogue_admin.set_active(session, admin, cyan, False)  # inactive ones are listed too

    data = await stock_files.template(session, admin, language="ru", colour_name=in_russian)
    rows = cells(data)
    assert rows[0] == ("модель", "цвет", "количество")
    by_model = {model: (colour, quantity) for model, colour, quantity in rows[1:]}
    assert len(rows) == 1 + 22 and len(by_model) == 22
    assert by_model["CE285A (85A)"] == ("чёрный", 12)
    assert by_model["CE311A (126A)"] == ("голубой", 0)

    sheet = await stock_files.read(data)
    assert sheet.problems == [] and len(sheet.rows) == 22
    plan = await catalogue_admin.plan_import(session, admin, sheet)
    assert (plan.changes, plan.unknown, plan.problems, plan.rows) == ([], [], [], 22)

    english = await stock_files.template(session, admin, language="en", colour_name=str)
    assert cells(english)[0] == ("model", "colour", "quantity")
    assert ("CE311A (126A)", "cyan", 0) in cells(english)


async def test_template_is_for_admins_only(session) -> None:
    await seed(session)
    for role in (Role.USER, Role.EXECUTOR, Role.SUPERVISOR):
        with pytest.raises(PermissionDenied):
            await stock_files.template(
                session, await actor_with(session, role), language="ru", colour_name=str
            )
