"""How the weekly report looks: a short summary, with the workbook attached when there is one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.keyboards.reports import status_label
from bot.outbox.renderers import RenderedMessage, RendererRegistry, localized
from bot.texts import kind_name


def register_report_templates(registry: RendererRegistry, i18n: I18n) -> None:
    """`report.weekly` {period, requests, by_status, by_kind, cartridges_issued,
    accept_breaches, resolve_breaches, path (the .xlsx, None for an empty week)}."""
    registry.add("report.weekly", localized(i18n, _weekly))


def _counts(counts: dict[str, int], name: Callable[[str], str]) -> str:
    return ", ".join(f"{name(key)} — {count}" for key, count in counts.items())


def _weekly(p: dict[str, Any]) -> RenderedMessage:
    if not p["requests"]:
        text = _("Weekly report for {period}: there were no requests.").format(period=p["period"])
        return RenderedMessage(text=text)
    lines = [
        _("Weekly report for {period}.").format(period=p["period"]),
        _("Requests: {count}").format(count=p["requests"]),
        _("By kind: {counts}").format(counts=_counts(p["by_kind"], kind_name)),
        _("By status: {counts}").format(counts=_counts(p["by_status"], status_label)),
        _("Cartridges issued: {count}").format(count=p["cartridges_issued"]),
        _("Deadlines missed: to take {accept}, to resolve {resolve}").format(
            accept=p["accept_breaches"], resolve=p["resolve_breaches"]
        ),
    ]
    path = p.get("path")
    if path and Path(path).is_file():
        return RenderedMessage(text="\n".join(lines), document_path=path)
    lines += ["", _("The report file is no longer available.")]
    return RenderedMessage(text="\n".join(lines))
