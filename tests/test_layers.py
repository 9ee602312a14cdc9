"""The layering of the code, read from its imports (no import runs).

- Dependencies point down: bot → cron → services → database, integrations → utils (see the
  README's "Architecture"); the demo, the emulator and the benchmarks sit beside them.
- The domain (`services/`) knows no aiogram, and builds no SQL: from SQLAlchemy it takes the
  session type, its errors and the row type only; queries live in `database/`.
- The Telegram side reaches storage through services, except its two infrastructure adapters:
  the dialog-state storage (`bot/fsm_storage.py`) and the update pipeline with the outbox
  sender (`bot/pipeline/`, `bot/outbox/`).
- Every aiogram filter of ours is async (a sync `__call__` would block the event loop and is
  easy to get wrong with aiogram's awaiting).
- The README's architecture block names exactly the top-level folders of the repository.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
from pathlib import Path

import pytest
from aiogram.filters import Filter

ROOT = Path(__file__).resolve().parents[1]
# package → the project packages it may import
ALLOWED = {
    "utils": set(),
    "integrations": {"utils"},
    "database": {"utils"},
    "services": {"database", "integrations", "utils"},
    "cron": {"services", "database", "integrations", "utils"},
    "bot": {"cron", "services", "database", "integrations", "utils"},
    "emulator": {"utils"},
    "demo": {"bot", "database", "emulator", "utils"},
    "bench": {"bot", "cron", "services", "database", "integrations", "emulator", "utils"},
}
SERVICES_MAY_USE = ("sqlalchemy.ext.asyncio", "sqlalchemy.exc", "sqlalchemy.engine")
STORAGE_ADAPTERS = ("bot/fsm_storage.py", "bot/pipeline/", "bot/outbox/")


def imports(package: str) -> list[tuple[str, str]]:
    """(file relative to the root, imported module) of every absolute import in the package."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(where, node.module)] + [
                    (where, f"{node.module}.{alias.name}") for alias in node.names
                ]
            elif isinstance(node, ast.Import):
                found += [(where, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependencies_point_down(package: str) -> None:
    upward = sorted(
        f"{where}: {module}"
        for where, module in imports(package)
        if (top := module.split(".")[0]) in ALLOWED and top != package
        and top not in ALLOWED[package]
    )  # fmt: skip
    assert not upward


def test_services_know_no_aiogram_and_build_no_sql() -> None:
    wrong = sorted(
        f"{where}: {module}"
        for where, module in imports("services")
        if module.split(".")[0] == "aiogram"
        or (module.split(".")[0] == "sqlalchemy" and not module.startswith(SERVICES_MAY_USE))
    )
    assert not wrong


def test_bot_reaches_repositories_only_through_its_storage_adapters() -> None:
    wrong = sorted(
        f"{where}: {module}"
        for where, module in imports("bot")
        if module.startswith("database.repositories") and not where.startswith(STORAGE_ADAPTERS)
    )
    assert not wrong


def test_the_rules_see_a_violation(tmp_path: Path, monkeypatch) -> None:
    """The import reader finds an upward import and a query construct where they are."""
    fake = tmp_path / "services"
    fake.mkdir()
    (fake / "bad.py").write_text("from sqlalchemy import select\nimport bot.app\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert ("services/bad.py", "sqlalchemy.select") in imports("services")
    assert ("services/bad.py", "bot.app") in imports("services")


def test_every_filter_is_async() -> None:
    from bot.routers import build_routers

    build_routers()  # imports every router and the filters it uses
    ours, stack = [], list(Filter.__subclasses__())
    while stack:
        kind = stack.pop()
        stack.extend(kind.__subclasses__())
        if kind.__module__.split(".")[0] == "bot":
            ours.append(kind)
    assert ours, "no filter of ours found"
    sync = [kind.__qualname__ for kind in ours if not inspect.iscoroutinefunction(kind.__call__)]
    assert not sync


def test_the_readme_names_the_top_level_folders() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Architecture")[1].split("```")[1]
    named = set(re.findall(r"^(\w+)/", block, flags=re.MULTILINE))
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {path.split("/")[0] for path in tracked if "/" in path and not path.startswith(".")}
    assert named == folders


def test_buttons_live_in_keyboards_and_dialog_states_in_routers() -> None:
    """One convention: a CallbackData is defined in the keyboard module of the feature that
    builds the button (bot/keyboards/), a StatesGroup in the router of its dialog
    (bot/routers/); a feature that needs another's imports it from there."""
    from aiogram.filters.callback_data import CallbackData
    from aiogram.fsm.state import StatesGroup

    from bot.routers import build_routers

    build_routers()
    misplaced = []
    for base, home in ((CallbackData, "bot.keyboards."), (StatesGroup, "bot.routers.")):
        stack = list(base.__subclasses__())
        while stack:
            kind = stack.pop()
            stack.extend(kind.__subclasses__())
            module = kind.__module__
            if module.startswith("bot.") and not module.startswith(home):
                misplaced.append(f"{module}.{kind.__qualname__}")
    assert not misplaced
