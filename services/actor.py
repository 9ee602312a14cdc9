"""Who is acting: the user row (if any) and the effective role, owners included."""

from __future__ import annotations

from dataclasses import dataclass

from database.enums import Role, RoleLevel, UserStatus
from database.models import User
from services.errors import PermissionDenied

# The roles that may work on requests (`services.routing.can_work`).
EXECUTOR_AND_ABOVE = (Role.EXECUTOR, Role.SUPERVISOR, Role.ADMIN, Role.OWNER)


def role_level(role: Role | str) -> int:
    return RoleLevel[Role(role).name].value


@dataclass(frozen=True, slots=True)
class Actor:
    telegram_id: int
    user: User | None
    is_owner: bool

    @classmethod
    def build(cls, telegram_id: int, user: User | None, owner_ids: frozenset[int]) -> Actor:
        return cls(telegram_id=telegram_id, user=user, is_owner=telegram_id in owner_ids)

    @property
    def role(self) -> Role:
        if self.is_owner:
            return Role.OWNER
        if self.user is None or not self.is_approved:
            return Role.USER
        return Role(self.user.role)

    @property
    def is_approved(self) -> bool:
        if self.is_owner:
            return True
        return self.user is not None and self.user.status == UserStatus.APPROVED

    @property
    def is_active(self) -> bool:
        """False for a user an admin deactivated (owners are always active)."""
        return self.is_owner or self.user is None or self.user.is_active

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    def at_least(self, role: Role) -> bool:
        return self.is_approved and self.is_active and role_level(self.role) >= role_level(role)

    def require(self, role: Role) -> None:
        if not self.at_least(role):
            raise PermissionDenied(f"{role} rights required")
