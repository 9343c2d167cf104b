"""Which voice notes and round videos a desk viewer may play: the same row and kecamatan checks as the page
that shows them.

A case's voice note and round video, and one given as the reason of a step in its history, follow the case page
(``services.desk.cases.load_case``), a check-in's the recipient's
page (``services.desk.people.load_recipient``), a data request's the privacy pages (staff only). Each play is
written to the audit log: a voice note is personal data (docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CaseEvent, Checkin, PrivacyRequest
from services.audit import audit
from services.clock import FrozenClock
from services.desk.access import DeskForbidden, DeskUser
from services.desk.cases import load_case
from services.desk.people import load_recipient

VoiceOf = Literal["case", "event", "checkin", "privacy", "case_video"]
VOICE_OF: tuple[VoiceOf, ...] = ("case", "event", "checkin", "privacy")
VIDEO_OF: tuple[VoiceOf, ...] = ("case_video",)


@dataclass(frozen=True, slots=True)
class VoiceRef:
    file_id: str
    target: str  # what the audit entry names: "case:12", "checkin:40", "privacy_request:3"
    recipient_id: int | None
    kind: str = "voice"  # or "video": a round video (services.voice.KINDS)


async def voice_for(session: AsyncSession, viewer: DeskUser, of: VoiceOf, row_id: int) -> VoiceRef:
    """The voice note of a case, check-in or data request, if this viewer may see that row (else
    DeskForbidden, answered like a missing page)."""
    if of == "case":
        case = await load_case(session, viewer, row_id)
        file_id, recipient_id = case.voice_file_id, case.recipient_id
    elif of == "case_video":  # a round video sent with the report
        case = await load_case(session, viewer, row_id)
        if not case.video_note_file_id:
            raise DeskForbidden("no_voice")
        return VoiceRef(case.video_note_file_id, f"case:{row_id}", case.recipient_id, kind="video")
    elif of == "event":  # a reason given by voice in the case's history (a TKSK passing it to Dinas Sosial)
        event = await session.get(CaseEvent, row_id)
        if event is None:
            raise DeskForbidden("not_found")
        case = await load_case(session, viewer, event.case_id)
        file_id, recipient_id = event.voice_file_id, case.recipient_id
        of = "case_event"  # type: ignore[assignment]
    elif of == "checkin":
        checkin = await session.get(Checkin, row_id)
        if checkin is None:
            raise DeskForbidden("not_found")
        await load_recipient(session, viewer, checkin.recipient_id)
        file_id, recipient_id = checkin.voice_file_id, checkin.recipient_id
    elif of == "privacy":
        viewer.require_staff()
        request = await session.get(PrivacyRequest, row_id)
        if request is None:
            raise DeskForbidden("not_found")
        file_id, recipient_id = request.voice_file_id, request.recipient_id
        of = "privacy_request"  # type: ignore[assignment]
    else:
        raise DeskForbidden("not_found")
    if not file_id:
        raise DeskForbidden("no_voice")
    return VoiceRef(file_id, f"{of}:{row_id}", recipient_id)


def record_play(session: AsyncSession, viewer: DeskUser, ref: VoiceRef, *, now: datetime) -> None:
    audit(session, FrozenClock(now), actor=viewer.label, actor_account_id=viewer.account_id,
          action="desk.video_played" if ref.kind == "video" else "desk.voice_played", target=ref.target,
          details={"recipient_id": ref.recipient_id} if ref.recipient_id else None)
