"""Every notification the bot sends: its template, what triggers it, who gets it, who queues it.

Notifications are queued in the caller's transaction (`services.notifications`) under a template
name and rendered on the Telegram side (`bot/*notifications.py`). This table is the one place
that says, per template, when it goes out and to whom; the README's "Notifications" table is
written from it. `tests/test_notification_table.py` keeps it complete: it fails when a template
is queued in the code or registered as a renderer but missing here, when an entry is neither,
when an entry names the wrong queuing modules, and when the README's table leaves one out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Notification:
    template: str
    trigger: str  # what happens
    recipients: str  # who gets it
    modules: tuple[str, ...]  # the modules that queue it


NOTIFICATIONS: tuple[Notification, ...] = (
    Notification(
        "registration.request",
        "someone registers (or applies again) with /start",
        "admins and owners, with Approve / Reject",
        ("services.registration",),
    ),
    Notification(
        "registration.approved",
        "a registration is approved (with the role and categories given)",
        "the applicant",
        ("services.registration",),
    ),
    Notification(
        "registration.rejected",
        "a registration is rejected",
        "the applicant",
        ("services.registration",),
    ),
    Notification(
        "invite.used",
        "someone joins with an invite link",
        "the person who created the invite",
        ("services.invites",),
    ),
    Notification(
        "user.role_changed",
        "an admin changes a person's role or categories",
        "that person",
        ("services.users",),
    ),
    Notification(
        "request.new",
        "a request is confirmed, or goes back to the queue",
        "its handlers (the branch's executor, else the category's executors, else the "
        "managers), and the managers for a critical ticket",
        ("services.intake",),
    ),
    Notification(
        "request.after_hours",
        "a request is filed outside working time (evening, weekend, holiday)",
        "its requester, once: the working hours and when it will be looked at",
        ("services.intake",),
    ),
    Notification(
        "request.auto_reply",
        "a request is filed in a category with an auto-reply text (set in /categories)",
        "its requester, once: the text, and the working hours when filed outside them",
        ("services.intake",),
    ),
    Notification(
        "request.photo",
        "a new request has photos (sent before its card), or someone asks for a request's files",
        "the recipients of the card; the person who asked",
        ("services.intake", "services.thread"),
    ),
    Notification(
        "request.document",
        "a new request has documents (sent before its card), or someone asks for its files",
        "the recipients of the card; the person who asked",
        ("services.intake", "services.thread"),
    ),
    Notification(
        "request.assigned",
        "a supervisor assigns a request",
        "the assigned executor",
        ("services.workflow",),
    ),
    Notification(
        "request.reopened",
        "the requester reopens a resolved ticket",
        "the assignee, while they may still handle it",
        ("services.workflow",),
    ),
    Notification(
        "request.disputed",
        "the requester reports an issued order short or wrong",
        "the assignee, while they may still handle it",
        ("services.workflow",),
    ),
    Notification(
        "request.confirmed",
        "the requester confirms receipt or resolution",
        "the assignee, while they may still handle it",
        ("services.workflow",),
    ),
    Notification(
        "request.status",
        "a request changes status (taken, issued, resolved, rejected, auto-closed, returned to "
        "the queue...) by someone other than the requester",
        "the requester",
        ("services.handover", "services.workflow"),
    ),
    Notification(
        "request.message",
        "a message is written in a request's thread",
        "the other side: the requester, or the assignee (else the handlers, as routed)",
        ("services.thread",),
    ),
    Notification(
        "request.messages",
        "the requester writes while nobody has taken the request (a minute's messages as one)",
        "the request's handlers, as routed",
        ("services.thread",),
    ),
    Notification(
        "request.returned",
        "a person's requests go back to the queue (demoted, deactivated, category removed, "
        "unable to take a reopened one)",
        "the managers (supervisors, else admins and owners), except that person",
        ("services.handover",),
    ),
    Notification(
        "stock.low",
        "a cartridge type falls below its low-stock threshold (once until it recovers)",
        "cartridge storekeepers, admins and owners",
        ("services.stock",),
    ),
    Notification(
        "sla.reminder",
        "a request misses its take or complete deadline (SLA scan)",
        "the assignee, else the request's handlers, as routed",
        ("services.sla",),
    ),
    Notification(
        "sla.escalation",
        "a request is late by a further escalation margin (SLA scan)",
        "supervisors, admins and owners",
        ("services.sla",),
    ),
    Notification(
        "sla.digest",
        "one person has more than three SLA notices due in one scan",
        "that person, instead of the separate notices",
        ("services.sla",),
    ),
    Notification(
        "report.weekly",
        "the weekly report job runs (once per week)",
        "active admins and owners, with the workbook in their language",
        ("services.weekly_report",),
    ),
    Notification(
        "update.failed",
        "an update's handler keeps failing and the update is parked",
        "the user who sent it",
        ("bot.pipeline.inbox",),
    ),
    Notification(
        "outbox.undelivered",
        "the outbox gives up on notifications Telegram did not accept for OUTBOX_GIVE_UP_HOURS",
        "owners (ADMIN_IDS), one alert counting them",
        ("bot.outbox.sender",),
    ),
)


def templates() -> list[str]:
    return [n.template for n in NOTIFICATIONS]
