"""Words of the Excel report: sheet names, column titles and value names, Russian and English."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from database.enums import Priority, RequestKind, RequestStatus

S = RequestStatus

RU: dict[str, Any] = {
    "sheets": {
        "requests": "Заявки",
        "lines": "Позиции",
        "by_branch": "По филиалам",
        "sla": "SLA",
        "chart": "График",
    },
    "columns": {
        "number": "Номер",
        "kind": "Тип",
        "category": "Категория",
        "priority": "Приоритет",
        "status": "Статус",
        "branch": "Филиал",
        "requester": "Заявитель",
        "assignee": "Исполнитель",
        "subject": "Тема",
        "description": "Описание",
        "cartridges": "Картриджей",
        "issued": "Выдано",
        "reject_reason": "Причина отказа",
        "created": "Создана",
        "accepted": "Принята",
        "started": "Начата",
        "resolved": "Выполнена",
        "closed": "Закрыта",
        "archived": "В архиве",
        "request": "Заявка",
        "model": "Модель",
        "quantity": "Количество",
        "requested": "Запрошено",
        "accept_due": "Срок принятия",
        "hours_to_accept": "Часов до принятия",
        "accept_breached": "Принятие просрочено",
        "resolve_due": "Срок выполнения",
        "hours_to_resolve": "Часов до выполнения (без ожидания)",
        "resolve_breached": "Выполнение просрочено",
    },
    "kinds": {RequestKind.ORDER: "заказ картриджей", RequestKind.TICKET: "заявка"},
    "statuses": {
        S.NEW: "новая",
        S.ACCEPTED: "принята",
        S.IN_PROGRESS: "в работе",
        S.WAITING: "ждёт ответа заявителя",
        S.CLOSED: "закрыта",
        S.REJECTED: "отклонена",
        S.CANCELLED: "отменена",
    },
    "done": {RequestKind.ORDER: "выдана", RequestKind.TICKET: "решена"},
    "priorities": {
        Priority.LOW: "низкий",
        Priority.NORMAL: "обычный",
        Priority.HIGH: "высокий",
        Priority.CRITICAL: "критический",
    },
    "yes": "Да",
    "no": "Нет",
    "no_branch": "(без филиала)",
    "branch_total": "Итого по филиалу",
    "grand_total": "Всего",
    "cut": "… [обрезано: всего {total} символов]",
    "chart_title": "Выдано картриджей по филиалам и месяцам подачи заявок",
    "chart_y": "шт.",
}

EN: dict[str, Any] = {
    "sheets": {
        "requests": "Requests",
        "lines": "Lines",
        "by_branch": "By branch",
        "sla": "SLA",
        "chart": "Chart",
    },
    "columns": {
        "number": "Number",
        "kind": "Kind",
        "category": "Category",
        "priority": "Priority",
        "status": "Status",
        "branch": "Branch",
        "requester": "Requester",
        "assignee": "Assignee",
        "subject": "Subject",
        "description": "Description",
        "cartridges": "Cartridges",
        "issued": "Issued",
        "reject_reason": "Reject reason",
        "created": "Created",
        "accepted": "Accepted",
        "started": "Started",
        "resolved": "Resolved",
        "closed": "Closed",
        "archived": "Archived",
        "request": "Request",
        "model": "Model",
        "quantity": "Quantity",
        "requested": "Requested",
        "accept_due": "Accept due",
        "hours_to_accept": "Hours to accept",
        "accept_breached": "Accept breached",
        "resolve_due": "Resolve due",
        "hours_to_resolve": "Hours to resolve (without waiting)",
        "resolve_breached": "Resolve breached",
    },
    "kinds": {RequestKind.ORDER: "cartridge order", RequestKind.TICKET: "ticket"},
    "statuses": {
        S.NEW: "new",
        S.ACCEPTED: "accepted",
        S.IN_PROGRESS: "in progress",
        S.WAITING: "waiting for the requester",
        S.CLOSED: "closed",
        S.REJECTED: "rejected",
        S.CANCELLED: "cancelled",
    },
    "done": {RequestKind.ORDER: "issued", RequestKind.TICKET: "resolved"},
    "priorities": {
        Priority.LOW: "low",
        Priority.NORMAL: "normal",
        Priority.HIGH: "high",
        Priority.CRITICAL: "critical",
    },
    "yes": "Yes",
    "no": "No",
    "no_branch": "(no branch)",
    "branch_total": "Branch total",
    "grand_total": "All branches",
    "cut": "… [cut: {total} characters in all]",
    "chart_title": "Cartridges issued per branch and month of filing",
    "chart_y": "pcs",
}

LABELS = MappingProxyType({"ru": RU, "en": EN})


def labels(language: str) -> dict[str, Any]:
    """The report's words in `language` (Russian for anything but English)."""
    return LABELS.get(language, RU)


def status_name(words: dict[str, Any], status: str, kind: str) -> str:
    """As users see it: a done order is "issued", a done ticket "resolved"."""
    if status == S.DONE:
        return words["done"].get(kind, status)
    return words["statuses"].get(status, status)
