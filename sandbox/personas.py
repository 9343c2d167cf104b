"""The people one can be in the browser sandbox: roster recipients, their TKSK, PSMs, Dissos staff, strangers.

Why: a trainer preparing TKSK must be able to say "now I am Ibu Siti from Palaran" and try the real
onboarding, or "now I am her TKSK" and see the alert of her problem arrive. A persona is a simulated
Telegram user in the emulator plus, where the role needs it, the program's record behind it:

* a **recipient** starts as a Telegram user who has not joined yet, with the roster's phone number, so the
  onboarding flow (invitation link or ``/start NIK DATE``, consent, phone check) is tried for real;
* a **TKSK/PSM** is linked to the worker row directly (``TelegramAccount.worker``) so they can start at once;
* a **caseworker/admin** gets a Staff row and account through :func:`services.staff.add_staff`;
* a **stranger** is someone the roster does not know (to see how the bot refuses them).

Telegram ids are derived from the row ids (stable across restarts with ``--keep``); an account the bot
already linked (after onboarding) keeps its own id.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from db.enums import OnboardingState, StaffRole
from db.models import FieldWorker, Kabupaten, Kecamatan, Recipient, Staff, TelegramAccount
from sandbox.emulator import TelegramEmulator
from sandbox.people import Person

RECIPIENT_BASE = 7_100_000_000
WORKER_BASE = 7_200_000_000
STAFF_IDS = {StaffRole.ADMIN: 7_300_000_001, StaffRole.CASEWORKER: 7_300_000_002}
# Names only: the sandbox's badge and the desk's header say the role.
STAFF_NAMES = {StaffRole.ADMIN: "Rahmawati", StaffRole.CASEWORKER: "Andi Pratama"}
STRANGER_BASE = 7_400_000_000
_strangers = itertools.count(1)
MAX_LIST = 100


@dataclass
class Persona:
    user_id: int
    kind: str  # recipient | tksk | psm | caseworker | admin | stranger
    name: str
    subtitle: str = ""
    ref_id: int | None = None  # recipient / worker / staff id
    kecamatan_id: int | None = None
    nik: str | None = None  # shown to the sandbox user so they can type it (sample data only)
    birth_date: str | None = None
    phone: str | None = None
    state: str | None = None  # onboarding state of a recipient
    linked: bool = False  # a Telegram account is already linked to the record

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _split_name(name: str) -> tuple[str, str | None]:
    parts = name.title().split(maxsplit=1)
    return (parts[0] if parts else name), (parts[1] if len(parts) > 1 else None)


def _where(kec: Kecamatan) -> str:
    return f"{kec.name}, {kec.kabupaten.name}"


def placeholder_phone(recipient_id: int) -> str:
    """A phone for a persona whose roster row has none (the bot must then accept the shared number)."""
    return f"+62813{recipient_id % 10**8:08d}"


class Personas:
    def __init__(self, ctx: AppContext, emulator: TelegramEmulator) -> None:
        self.ctx = ctx
        self.emulator = emulator
        self.known: dict[int, Persona] = {}

    # ------------------------------------------------------------------ listing
    async def search_recipients(self, query: str = "", limit: int = 50) -> list[Persona]:
        limit = max(1, min(limit, MAX_LIST))
        async with self.ctx.session_factory() as session:
            stmt = (
                select(Recipient, TelegramAccount.telegram_user_id)
                .join(Kecamatan, Recipient.kecamatan_id == Kecamatan.id)
                .join(Kabupaten, Kecamatan.kabupaten_id == Kabupaten.id)
                .outerjoin(TelegramAccount, TelegramAccount.recipient_id == Recipient.id)
                .order_by(func.lower(Recipient.name), Recipient.id)
                .limit(limit)
            )
            for word in query.split():
                pattern = f"%{word}%"
                stmt = stmt.where(or_(Recipient.name.ilike(pattern), Kecamatan.name.ilike(pattern),
                                      Kabupaten.name.ilike(pattern), Recipient.business_type.ilike(pattern)))
            rows = (await session.execute(stmt)).all()
            return [self._recipient_persona(r, uid) for r, uid in rows]

    async def search_workers(self, query: str = "", limit: int = 50) -> list[Persona]:
        limit = max(1, min(limit, MAX_LIST))
        async with self.ctx.session_factory() as session:
            stmt = (
                select(FieldWorker, TelegramAccount.telegram_user_id)
                .join(Kecamatan, FieldWorker.kecamatan_id == Kecamatan.id)
                .join(Kabupaten, Kecamatan.kabupaten_id == Kabupaten.id)
                .outerjoin(TelegramAccount, TelegramAccount.worker_id == FieldWorker.id)
                .where(FieldWorker.active.is_(True))
                .order_by(Kabupaten.name, Kecamatan.name, FieldWorker.role.desc(), FieldWorker.name)
                .limit(limit)
            )
            for word in query.split():
                pattern = f"%{word}%"
                stmt = stmt.where(or_(FieldWorker.name.ilike(pattern), Kecamatan.name.ilike(pattern),
                                      Kabupaten.name.ilike(pattern), FieldWorker.role.ilike(pattern)))
            rows = (await session.execute(stmt)).all()
            return [self._worker_persona(w, uid) for w, uid in rows]

    def staff_personas(self) -> list[Persona]:
        return [Persona(uid, role.value, STAFF_NAMES[role], "Dinas Sosial Kaltim") for role, uid in STAFF_IDS.items()]

    async def workers_for(self, kecamatan_id: int) -> list[Persona]:
        """The TKSK and PSMs of a recipient's kecamatan (offered beside a recipient persona)."""
        async with self.ctx.session_factory() as session:
            rows = (await session.execute(
                select(FieldWorker, TelegramAccount.telegram_user_id)
                .outerjoin(TelegramAccount, TelegramAccount.worker_id == FieldWorker.id)
                .where(FieldWorker.kecamatan_id == kecamatan_id, FieldWorker.active.is_(True))
                .order_by(FieldWorker.role.desc(), FieldWorker.name)
            )).all()
            return [self._worker_persona(w, uid) for w, uid in rows]

    def _recipient_persona(self, r: Recipient, linked_uid: int | None) -> Persona:
        nik = self.ctx.cipher.decrypt(r.nik_encrypted)
        return Persona(
            user_id=linked_uid or RECIPIENT_BASE + r.id, kind="recipient", name=r.name,
            subtitle=f"{_where(r.kecamatan)} · {r.business_type.replace('_', ' ')}", ref_id=r.id,
            kecamatan_id=r.kecamatan_id, nik=nik, birth_date=r.birth_date.isoformat(),
            phone=r.phone, state=r.onboarding_state, linked=linked_uid is not None,
        )

    @staticmethod
    def _worker_persona(w: FieldWorker, linked_uid: int | None) -> Persona:
        return Persona(
            user_id=linked_uid or WORKER_BASE + w.id, kind=w.role, name=w.name,
            subtitle=f"{w.role.upper()} {_where(w.kecamatan)}", ref_id=w.id, kecamatan_id=w.kecamatan_id,
            phone=w.phone, linked=linked_uid is not None,
        )

    # ------------------------------------------------------------------ becoming someone
    async def open_recipient(self, recipient_id: int) -> tuple[Persona, Person]:
        async with self.ctx.session_factory() as session:
            r = await session.get(Recipient, recipient_id)
            if r is None:
                raise LookupError(f"no recipient {recipient_id}")
            account = await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == r.id))
            persona = self._recipient_persona(r, account.telegram_user_id if account else None)
        first, last = _split_name(persona.name)
        phone = persona.phone or placeholder_phone(recipient_id)
        # Not yet joined: a Telegram user who never opened the bot (Telegram refuses messages to them).
        started = account is not None and persona.state != OnboardingState.NOT_JOINED
        person = self.emulator.person(persona.user_id, first, last_name=last, language_code="id", phone=phone,
                                      started=started)
        return self._remember(persona), person

    async def open_worker(self, worker_id: int) -> tuple[Persona, Person]:
        async with self.ctx.session_factory.begin() as session:
            w = await session.get(FieldWorker, worker_id)
            if w is None or not w.active:
                raise LookupError(f"no active field worker {worker_id}")
            account = await session.scalar(select(TelegramAccount).where(TelegramAccount.worker_id == w.id))
            if account is None:
                account = await self._fresh_account(session, WORKER_BASE + w.id, w.name)
                account.worker = w
                await session.flush()
            persona = self._worker_persona(w, account.telegram_user_id)
        first, last = _split_name(persona.name)
        person = self.emulator.person(persona.user_id, first, last_name=last, language_code="id",
                                      phone=persona.phone, started=True)
        return self._remember(persona), person

    async def open_staff(self, role: str) -> tuple[Persona, Person]:
        from services.staff import add_staff

        staff_role = StaffRole(role)
        uid = STAFF_IDS[staff_role]
        async with self.ctx.session_factory.begin() as session:
            account = await session.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == uid))
            if account is None or account.staff is None:
                await add_staff(session, self.ctx.clock, telegram_id=uid, name=STAFF_NAMES[staff_role],
                                role=staff_role.value)
            staff = await session.scalar(select(Staff).join(TelegramAccount, TelegramAccount.staff_id == Staff.id)
                                         .where(TelegramAccount.telegram_user_id == uid))
            assert staff is not None
            persona = Persona(uid, staff_role.value, staff.name, "Dinas Sosial Kaltim", ref_id=staff.id, linked=True)
        first, last = _split_name(persona.name.split(" (")[0])
        person = self.emulator.person(uid, first, last_name=last, language_code="id", started=True)
        return self._remember(persona), person

    def open_stranger(self) -> tuple[Persona, Person]:
        uid = STRANGER_BASE + next(_strangers)
        while self.emulator.find_person(uid) is not None:
            uid = STRANGER_BASE + next(_strangers)
        persona = Persona(uid, "stranger", f"Orang asing {uid - STRANGER_BASE}", "tidak ada di roster")
        person = self.emulator.person(uid, "Tamu", last_name=str(uid - STRANGER_BASE), language_code="id",
                                      phone=f"+62811{uid % 10**8:08d}")
        return self._remember(persona), person

    async def describe(self, user_id: int) -> Persona | None:
        """The persona behind an open chat (refreshed: a recipient's onboarding state changes)."""
        persona = self.known.get(user_id)
        if persona is None:
            return None
        if persona.kind == "recipient" and persona.ref_id is not None:
            async with self.ctx.session_factory() as session:
                r = await session.get(Recipient, persona.ref_id)
                if r is not None:
                    persona.state = r.onboarding_state
                    persona.linked = persona.linked or bool(await session.scalar(
                        select(TelegramAccount.id).where(TelegramAccount.recipient_id == r.id)))
        return persona

    def _remember(self, persona: Persona) -> Persona:
        self.known[persona.user_id] = persona
        return persona

    async def _fresh_account(self, session: AsyncSession, uid: int, name: str) -> TelegramAccount:
        existing = await session.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == uid))
        if existing is not None:
            if existing.recipient_id or existing.staff_id or existing.worker_id:
                raise ValueError(f"Telegram account {uid} already belongs to someone else")
            return existing
        account = TelegramAccount(telegram_user_id=uid, chat_id=uid, first_name=_split_name(name)[0],
                                  created_at=self.ctx.clock.now())
        session.add(account)
        return account
