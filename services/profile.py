"""Correcting a recipient's profile (a UU PDP correction request, or a TKSK's report of a wrong entry).

Values are normalised exactly as the roster import does (names, phones in E.164, dates), so a corrected row
looks like an imported one. Every correction is audited with the fields it changed, never their values (the
audit log is read by more people than the profile is).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.models import Recipient
from services.audit import audit
from services.clock import Clock
from services.importer import normalize
from services.importer.normalize import Invalid

# Fields a correction may change. The NIK is not one of them: a wrong NIK is fixed in DTKS and re-imported.
CORRECTABLE = ("name", "phone", "address", "desa", "birth_date", "sex")


def _value(field: str, raw: str, *, today: date) -> object:
    if field == "name":
        return normalize.person_name(raw)
    if field == "phone":
        value = normalize.phone(raw)
        if value is None:
            raise Invalid("nomor HP kosong")
        return value
    if field == "address":
        return normalize.text(raw, "alamat", max_len=300)
    if field == "desa":
        return normalize.text(raw, "desa", max_len=120)
    if field == "birth_date":
        return normalize.a_date(raw, "tanggal lahir", required=True, not_before=date(1900, 1, 1), not_after=today)
    if field == "sex":
        return normalize.sex(raw)
    raise Invalid(f"kolom '{field}' tidak bisa dikoreksi; pilih: {', '.join(CORRECTABLE)}")


async def correct_profile(
    session: AsyncSession, clock: Clock, settings: Settings, recipient: Recipient, changes: Mapping[str, str], *,
    actor: str, actor_account_id: int | None = None, reason: str | None = None,
) -> list[str]:
    """Apply ``changes`` (field → new value as typed); returns the fields that changed. Raises
    :class:`~services.importer.normalize.Invalid` (nothing changed) when one value is not acceptable."""
    if not changes:
        raise Invalid("tidak ada perubahan")
    today = clock.now().astimezone(settings.program.tz).date()
    values = {field: _value(field, raw, today=today) for field, raw in changes.items()}
    changed = [field for field, value in values.items() if getattr(recipient, field) != value]
    for field in changed:
        setattr(recipient, field, values[field])
    if changed:
        recipient.updated_at = clock.now()
        audit(session, clock, actor=actor, actor_account_id=actor_account_id, action="recipient.corrected",
              target=f"recipient:{recipient.id}", details={"fields": changed, "reason": reason})
    await session.flush()
    return changed
