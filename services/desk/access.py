"""Who is looking at the desk, and what they may see and do. Checked on the server for every page and row.

Dinas Sosial staff (caseworkers, admins) see the whole province and act; a TKSK or PSM sees their own
kecamatan, read-only. Only an admin sees a full NIK, and every such view is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true

from db.enums import Role
from db.models import TelegramAccount
from services.cases.transitions import Actor
from services.identity import role_of


class DeskForbidden(Exception):
    """The row exists but is not this person's to see (answered like a missing page: nothing leaks)."""


@dataclass(frozen=True, slots=True)
class DeskUser:
    account_id: int
    role: Role
    name: str
    language: str
    kecamatan_id: int | None = None  # set for a TKSK/PSM: the only kecamatan they may see
    staff_id: int | None = None

    @classmethod
    def of(cls, account: TelegramAccount, default_language: str = "id") -> DeskUser:
        role = role_of(account)
        language = account.language or default_language
        if role.is_staff and account.staff is not None:
            return cls(account.id, role, account.staff.name, language, staff_id=account.staff.id)
        if role.is_worker and account.worker is not None:
            return cls(account.id, role, account.worker.name, language, kecamatan_id=account.worker.kecamatan_id)
        raise DeskForbidden(role.value)

    @property
    def can_act(self) -> bool:
        return self.role.is_staff

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role.value})"

    def actor(self) -> Actor:
        """The same actor the bot builds for a button press, so the case rules apply unchanged."""
        return Actor(self.role, self.name, self.account_id, staff_id=self.staff_id, kecamatan_id=self.kecamatan_id)

    def scope(self, kecamatan_column: ColumnElement[int]) -> ColumnElement[bool]:
        """A WHERE clause limiting rows to what this person may see."""
        if self.kecamatan_id is None:
            return true()
        return kecamatan_column == self.kecamatan_id

    def check_kecamatan(self, kecamatan_id: int | None) -> None:
        if self.kecamatan_id is not None and kecamatan_id != self.kecamatan_id:
            raise DeskForbidden("area")

    def require_staff(self) -> None:
        if not self.can_act:
            raise DeskForbidden("read_only")
