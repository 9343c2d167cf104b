"""Who is this? NIK + date of birth against the roster, with a lockout against guessing.

Rules:
- A NIK is 16 digits; people type it with spaces, dots or dashes, which are ignored.
- A date of birth is accepted as DD-MM-YYYY or YYYY-MM-DD with ``-``, ``/``, ``.`` or spaces, as DDMMYYYY,
  or with an Indonesian or English month name (``17 Mei 1980``).
- Only well-formed NIK + date pairs count as attempts; a typo in the format is explained, not counted.
- ``onboarding.max_nik_attempts`` wrong pairs per Telegram account within ``onboarding.lockout_hours`` lock the
  account out until the oldest of them leaves the window.
- ``onboarding.max_nik_attempts_per_nik`` wrong pairs against one NIK, from any accounts together, close the NIK
  path for that NIK (``NIK_CLOSED``): guesses spread over many accounts (the NIK encodes the date of birth, so
  the date is a weak secret) stop there. The try that closes it opens an urgent ``NIK_GUESSING`` case, so the
  recipient's TKSK and Dinas Sosial are told; joining then goes through the TKSK's invitation link.
- Unknown NIK and wrong date of birth are the same outcome (``MISMATCH``), and a closed NIK answers the same
  whether it is in the roster or not: the bot never reveals whether a NIK is in the roster. The NIK itself is
  never stored or logged here: only its keyed hash is used for the look-up and kept with each attempt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import CaseKind, Urgency
from db.models import IdentityAttempt, Recipient
from services.cases.opening import OpenedCase, open_case
from services.clock import Clock

_MONTHS = {
    "jan": 1, "januari": 1, "january": 1,
    "feb": 2, "februari": 2, "pebruari": 2, "february": 2,
    "mar": 3, "maret": 3, "march": 3,
    "apr": 4, "april": 4,
    "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7,
    "agu": 8, "agt": 8, "agus": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "nopember": 11, "november": 11,
    "des": 12, "desember": 12, "dec": 12, "december": 12,
}
_SEP = r"[\-/.\s]+"
_NUMERIC_DATE = re.compile(rf"^(\d{{1,4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,4}})$")
_NAMED_DATE = re.compile(rf"^(\d{{1,2}}){_SEP}([A-Za-z]+){_SEP}(\d{{4}})$")
_COMPACT_DATE = re.compile(r"^(\d{2})(\d{2})(\d{4})$")
# A date at the end of a longer text, e.g. "/start 6472… 17-05-1980".
_TRAILING_DATE = re.compile(
    rf"(\d{{1,2}}{_SEP}[A-Za-z]+{_SEP}\d{{4}}|\d{{1,4}}[\-/.]\d{{1,2}}[\-/.]\d{{1,4}}|\d{{1,2}}\s+\d{{1,2}}\s+\d{{4}}"
    rf"|\d{{4}}\s+\d{{1,2}}\s+\d{{1,2}})\s*$"
)
_NIK_CHARS = re.compile(r"^[\d\s.\-]+$")


class IdentityOutcome(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"      # unknown NIK or wrong date of birth: the same to the person
    LOCKED = "locked"
    NIK_CLOSED = "nik_closed"  # too many wrong tries against this NIK from any accounts: invitation link only


@dataclass(slots=True)
class IdentityResult:
    outcome: IdentityOutcome
    recipient: Recipient | None = None
    attempts_left: int = 0
    locked_until: datetime | None = None
    # NIK_CLOSED by this very try, for a NIK in the roster: whose TKSK and Dinas Sosial must be told (never shown).
    closed_recipient: Recipient | None = None


def parse_nik(text: str) -> str | None:
    """16 digits, separators ignored; None when it is not a NIK."""
    text = text.strip()
    if not text or not _NIK_CHARS.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) == 16 else None


def parse_birth_date(text: str, *, today: date | None = None) -> date | None:
    """A plausible date of birth in one of the accepted forms; None otherwise."""
    text = text.strip().rstrip(".")
    day = month = year = None
    if m := _NUMERIC_DATE.match(text):
        a, b, c = m.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif len(c) == 4:
            day, month, year = int(a), int(b), int(c)
        else:
            return None
    elif m := _NAMED_DATE.match(text):
        d, name, y = m.groups()
        month = _MONTHS.get(name.lower())
        if month is None:
            return None
        day, year = int(d), int(y)
    elif m := _COMPACT_DATE.match(text):
        day, month, year = (int(g) for g in m.groups())
    else:
        return None
    try:
        result = date(year, month, day)
    except ValueError:
        return None
    today = today or date.today()
    if not 1900 <= result.year or result > today:
        return None
    return result


@dataclass(slots=True)
class ParsedIdentity:
    nik: str | None
    birth_date: date | None
    has_date_text: bool  # something that looked like a date was there (so a None date is a wrong format)


def parse_identity(text: str, *, today: date | None = None) -> ParsedIdentity:
    """Split ``NIK DATE`` (as typed after /start) into its parts."""
    text = text.strip()
    m = _TRAILING_DATE.search(text)
    if m and len(re.sub(r"\D", "", text[: m.start()])) >= 1:
        nik = parse_nik(text[: m.start()].strip(" ,;_"))
        return ParsedIdentity(nik, parse_birth_date(m.group(1), today=today), True)
    return ParsedIdentity(parse_nik(text), None, False)


def looks_like_identity(text: str) -> bool:
    """True when a /start payload is an attempt at NIK (+ date), not an invitation token."""
    return bool(re.match(r"^\s*\d[\d\s.\-]{7,}", text))


async def lockout_state(
    session: AsyncSession, telegram_user_id: int, *, settings: Settings, now: datetime
) -> tuple[int, datetime | None]:
    """(wrong attempts left, locked until) for this Telegram account."""
    window_start = now - timedelta(hours=settings.onboarding.lockout_hours)
    failures = (
        await session.scalars(
            select(IdentityAttempt.at)
            .where(
                IdentityAttempt.telegram_user_id == telegram_user_id,
                IdentityAttempt.success.is_(False),
                IdentityAttempt.at > window_start,
            )
            .order_by(IdentityAttempt.at)
        )
    ).all()
    limit = settings.onboarding.max_nik_attempts
    if len(failures) >= limit:
        # Unlocked once enough failures have left the window.
        return 0, failures[len(failures) - limit] + timedelta(hours=settings.onboarding.lockout_hours)
    return limit - len(failures), None


async def wrong_tries_against(session: AsyncSession, nik_hash: str) -> int:
    """Wrong NIK + date-of-birth tries against this NIK, from every account, ever (the NIK path stays closed
    once closed: the person joins through their TKSK's invitation instead)."""
    return await session.scalar(
        select(func.count()).select_from(IdentityAttempt)
        .where(IdentityAttempt.nik_hash == nik_hash, IdentityAttempt.success.is_(False))
    ) or 0


async def guessing_accounts(session: AsyncSession, nik_hash: str) -> int:
    return await session.scalar(
        select(func.count(func.distinct(IdentityAttempt.telegram_user_id)))
        .where(IdentityAttempt.nik_hash == nik_hash, IdentityAttempt.success.is_(False))
    ) or 0


async def verify_identity(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    nik_hash: str,
    birth_date: date,
    settings: Settings,
    now: datetime,
) -> IdentityResult:
    """Check a well-formed NIK (as its keyed hash, ``cipher.blind_index``) + date of birth; record the attempt."""
    left, locked_until = await lockout_state(session, telegram_user_id, settings=settings, now=now)
    if locked_until is not None:
        return IdentityResult(IdentityOutcome.LOCKED, locked_until=locked_until)
    per_nik = settings.onboarding.max_nik_attempts_per_nik
    if await wrong_tries_against(session, nik_hash) >= per_nik:
        # Closed, right date or not; the try still counts against this account.
        session.add(IdentityAttempt(telegram_user_id=telegram_user_id, at=now, success=False, nik_hash=nik_hash))
        await session.flush()
        return IdentityResult(IdentityOutcome.NIK_CLOSED)
    recipient = await session.scalar(select(Recipient).where(Recipient.nik_hash == nik_hash))
    success = recipient is not None and recipient.birth_date == birth_date
    session.add(IdentityAttempt(telegram_user_id=telegram_user_id, at=now, success=success, nik_hash=nik_hash))
    await session.flush()
    if success:
        return IdentityResult(IdentityOutcome.MATCH, recipient=recipient, attempts_left=left)
    if await wrong_tries_against(session, nik_hash) >= per_nik:
        return IdentityResult(IdentityOutcome.NIK_CLOSED, closed_recipient=recipient)
    left, locked_until = await lockout_state(session, telegram_user_id, settings=settings, now=now)
    if locked_until is not None:
        return IdentityResult(IdentityOutcome.LOCKED, locked_until=locked_until)
    return IdentityResult(IdentityOutcome.MISMATCH, attempts_left=left)



async def report_nik_guessing(
    session: AsyncSession, *, recipient: Recipient, nik_hash: str, settings: Settings, clock: Clock
) -> OpenedCase:
    """The NIK path of ``recipient`` has just closed: an urgent case, so that their TKSK and Dinas Sosial are told
    and the TKSK brings the person in with an invitation link."""
    tries = await wrong_tries_against(session, nik_hash)
    accounts = await guessing_accounts(session, nik_hash)
    return await open_case(
        session, recipient=recipient, kind=CaseKind.NIK_GUESSING, urgency=Urgency.HIGH, source="onboarding",
        description=(
            f"{tries} kali NIK penerima ini dicoba dengan tanggal lahir yang salah, dari {accounts} akun Telegram. "
            "Pendaftaran lewat NIK ditutup untuk NIK ini. Mohon hubungi penerima, lalu kirim tautan undangan "
            "(/penerima). Bila penerima tidak mencobanya, mungkin ada yang berusaha mendaftar atas namanya."
        ),
        settings=settings, clock=clock,
    )
