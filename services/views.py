"""A request as the people involved see it: plain JSON-able data for cards and notifications."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Category
from database.repositories import catalogue as catalogue_repo
from database.repositories import org as org_repo
from database.repositories import requests as requests_repo
from database.repositories import stock as stock_repo
from database.repositories import thread as thread_repo
from database.repositories import users as users_repo
from services.errors import NotFound


async def request_view(session: AsyncSession, request_id: int) -> dict[str, Any]:
    request = await requests_repo.by_id(session, request_id)
    if request is None:
        raise NotFound("request")
    author = await users_repo.by_id(session, request.author_id)
    assignee = await users_repo.by_id(session, request.assignee_id) if request.assignee_id else None
    branch = await org_repo.branch(session, request.branch_id) if request.branch_id else None
    category = await session.get(Category, request.category_id)
    type_ids = [item.cartridge_type_id for item in request.items]
    types = await catalogue_repo.by_ids(session, type_ids)
    stock = await stock_repo.totals(session, type_ids)
    attachments = await requests_repo.attachments(session, request.id)
    messages = await thread_repo.count(session, request.id)
    return {
        "id": request.id,
        "number": request.number,
        "kind": request.kind,
        "status": request.status,
        "priority": request.priority,
        "category": {"code": category.code, "ru": category.name_ru, "en": category.name_en},
        "branch": branch.name if branch else "",
        "author": {
            "name": author.full_name if author else "",
            "telegram_id": author.telegram_id if author else None,
            "username": author.username if author else None,
        },
        "assignee": assignee.full_name if assignee else "",
        "lines": [
            {
                "model": types[item.cartridge_type_id].model,
                "quantity": item.quantity,
                "stock": stock.get(item.cartridge_type_id, 0),
                "issued": item.issued_quantity,
            }
            for item in request.items
        ],
        "subject": request.subject,
        "comment": request.description,
        "reject_reason": request.reject_reason,
        "created_at": request.created_at.isoformat(),
        "done_at": request.done_at.isoformat() if request.done_at else None,
        "photos": [a.file_id for a in attachments if a.kind == "photo"],
        "attachments": len(attachments),  # photos and documents, the thread's included
        "messages": messages,  # in the thread
    }
