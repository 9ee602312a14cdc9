"""`services.notification_table` agrees with the code and the README.

- Its templates are exactly those the bot's renderer registry holds (`create_renderers`, as
  `python -m bot` builds it).
- Its templates are exactly those queued in services/, cron/ and bot/: the template argument of
  every `notify`, `notify_many`, `notify_grouped`, `add_or_fold` and `add_or_count` call, read
  with `ast` (string literals, module constants, constants imported from another module, local
  variables, the values of a dict indexed by a key, both arms of `a if c else b`); each entry
  names the modules that queue it.
- The README's "### Notifications" table has a row per template.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.notifications import create_renderers
from services.notification_table import NOTIFICATIONS, templates

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCANNED = ("services", "cron", "bot")
CALLS = {"notify", "notify_many", "notify_grouped", "add_or_fold", "add_or_count"}
TEMPLATE_ARG = 2  # (session, chat_id, template, ...)
FORWARDERS = {"services.notifications"}  # passes its caller's template on


def _report(what: str, names: object) -> str:
    listed = "\n  ".join(sorted(map(str, names)))
    return f"{what}:\n  {listed}"


def test_templates_are_unique() -> None:
    names = templates()
    assert len(names) == len(set(names)), _report(
        "listed twice", {n for n in names if names.count(n) > 1}
    )


def test_table_matches_the_renderer_registry(i18n) -> None:
    registered = set(create_renderers(i18n, ZoneInfo("UTC")).templates())
    table = set(templates())
    assert not registered - table, _report(
        "rendered but missing from services/notification_table.py", registered - table
    )
    assert not table - registered, _report("in the table but never rendered", table - registered)


@cache
def _tree(module: str) -> ast.Module | None:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.is_file():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    if not path.is_file():
        return None
    return ast.parse(path.read_text(encoding="utf-8"))


def _assigned(body: ast.AST, name: str, *, top_level: bool) -> list[ast.expr]:
    """The values assigned to `name` in `body` (module: its statements only)."""
    nodes = body.body if top_level else ast.walk(body)  # type: ignore[attr-defined]
    found: list[ast.expr] = []
    for node in nodes:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            found.append(node.value)
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            found.append(node.value)
    return found


def _imported(module: str, name: str) -> tuple[str, str | None] | None:
    """(module, attribute) that `name` is bound to by an import in `module`; attribute None
    when `name` is a module itself."""
    tree = _tree(module)
    for node in tree.body if tree else ():
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    submodule = f"{node.module}.{alias.name}"
                    if _tree(submodule) is not None:
                        return submodule, None
                    return node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname == name:
                    return alias.name, None
    return None


def _constant(module: str, name: str) -> set[str] | None:
    tree = _tree(module)
    if tree is None:
        return None
    values = _assigned(tree, name, top_level=True)
    if values:
        return _union(_strings(v, module, None) for v in values)
    source = _imported(module, name)
    if source is not None and source[1] is not None:
        return _constant(*source)  # type: ignore[arg-type]
    return None


def _union(sets) -> set[str] | None:
    result: set[str] = set()
    for found in sets:
        if found is None:
            return None
        result |= found
    return result


def _strings(node: ast.expr, module: str, func: ast.AST | None) -> set[str] | None:
    """Every string `node` may evaluate to, or None where that cannot be read."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _union(_strings(n, module, func) for n in (node.body, node.orelse))
    if isinstance(node, ast.Dict):
        return _union(_strings(v, module, func) for v in node.values)
    if isinstance(node, ast.Subscript):
        return _strings(node.value, module, func)
    if isinstance(node, ast.Name):
        local = _assigned(func, node.id, top_level=False) if func is not None else []
        if local:
            return _union(_strings(v, module, func) for v in local)
        return _constant(module, node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        source = _imported(module, node.value.id)
        if source is not None and source[1] is None:
            return _constant(source[0], node.attr)
    return None


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _template_arg(call: ast.Call) -> ast.expr | None:
    if len(call.args) > TEMPLATE_ARG:
        return call.args[TEMPLATE_ARG]
    return next((k.value for k in call.keywords if k.arg == "template"), None)


def queued_templates() -> tuple[dict[str, set[str]], list[str]]:
    """template → the modules that queue it; and the call sites whose template is not read."""
    found: dict[str, set[str]] = defaultdict(set)
    unread: list[str] = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = module.removesuffix(".__init__")
            if module in FORWARDERS:
                continue
            tree = _tree(module)
            assert tree is not None

            def visit(node: ast.AST, func: ast.AST | None, module: str = module) -> None:
                for child in ast.iter_child_nodes(node):
                    scope = (
                        child if isinstance(child, ast.AsyncFunctionDef | ast.FunctionDef) else func
                    )
                    if isinstance(child, ast.Call) and _call_name(child) in CALLS:
                        arg = _template_arg(child)
                        names = _strings(arg, module, scope) if arg is not None else None
                        if names is None:
                            unread.append(f"{module}:{child.lineno}")
                        for name in names or ():
                            found[name].add(module)
                    visit(child, scope)

            visit(tree, None)
    return found, unread


def test_table_matches_the_queued_templates() -> None:
    queued, unread = queued_templates()
    assert not unread, _report("template argument not read (use a literal or a constant)", unread)
    assert len(queued) >= 20, sorted(queued)  # the scan itself works
    table = {n.template: set(n.modules) for n in NOTIFICATIONS}
    missing = set(queued) - set(table)
    assert not missing, _report("queued but missing from services/notification_table.py", missing)
    unqueued = set(table) - set(queued)
    assert not unqueued, _report("in the table but never queued", unqueued)
    wrong = [
        f"{name}: table {sorted(table[name])}, code {sorted(queued[name])}"
        for name in sorted(table)
        if table[name] != queued[name]
    ]
    assert not wrong, _report("queuing modules differ", wrong)


def readme_templates() -> list[str]:
    """The first cell (`template`) of each row of the README's "### Notifications" table."""
    text = README.read_text(encoding="utf-8")
    assert "### Notifications" in text, 'README.md has no "### Notifications" section'
    section = text.split("### Notifications", 1)[1]
    lines = section.splitlines()[1:]
    end = next((i for i, line in enumerate(lines) if line.startswith("#")), len(lines))
    names = []
    for line in lines[:end]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells[0].startswith("`"):
            names.append(cells[0].strip("`"))
    return names


def test_readme_lists_every_template() -> None:
    listed = readme_templates()
    table = set(templates())
    assert not table - set(listed), _report(
        'missing from the "### Notifications" table of README.md', table - set(listed)
    )
    assert not set(listed) - table, _report(
        "in README.md but not in services/notification_table.py", set(listed) - table
    )
