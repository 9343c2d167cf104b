"""Test data made directly in the database, so a feature's tests need not replay other features' flows."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import OnboardingState, StaffRole, WorkerRole
from db.models import AidPackage, FieldWorker, Kabupaten, Kecamatan, Recipient, Staff, TelegramAccount
from services.clock import Clock
from services.crypto import NikCipher

_seq = itertools.count(1)


def fake_nik(prefix: str = "6472") -> str:
    n = next(_seq)
    return f"{prefix}{n:012d}"


async def region(session: AsyncSession, kabupaten: str = "Kota Samarinda", kecamatan: str = "Palaran") -> Kecamatan:
    kab = await session.scalar(select(Kabupaten).where(Kabupaten.name == kabupaten))
    if kab is None:
        kab = Kabupaten(code=f"K{next(_seq)}", name=kabupaten)
        session.add(kab)
        await session.flush()
    kec = await session.scalar(
        select(Kecamatan).where(Kecamatan.kabupaten_id == kab.id, Kecamatan.name == kecamatan)
    )
    if kec is None:
        kec = Kecamatan(code=f"C{next(_seq)}", name=kecamatan, kabupaten_id=kab.id)
        session.add(kec)
        await session.flush()
        await session.refresh(kec, ["kabupaten"])
    return kec


async def recipient(
    session: AsyncSession,
    cipher: NikCipher,
    clock: Clock,
    settings: Settings,
    *,
    kecamatan: Kecamatan | None = None,
    nik: str | None = None,
    name: str = "Siti Aminah",
    birth_date: date = date(1980, 5, 17),
    phone: str | None = "+6281234567890",
    business_type: str = "gorengan",
    aid_date: date | None = date(2026, 1, 5),
    onboarding_state: OnboardingState = OnboardingState.NOT_JOINED,
    sex: str = "P",
    pkh: bool = True,
) -> Recipient:
    kecamatan = kecamatan or await region(session)
    nik = nik or fake_nik()
    now = clock.now()
    r = Recipient(
        nik_hash=cipher.blind_index(nik), nik_encrypted=cipher.encrypt(nik), name=name, sex=sex,
        birth_date=birth_date, phone=phone, address="Jl. Damai RT 1", desa="Rawa Makmur",
        kecamatan_id=kecamatan.id, dtks_id=f"DTKS{next(_seq)}", pkh=pkh, business_type=business_type,
        aid_value=4_750_000, aid_date=aid_date, onboarding_state=onboarding_state,
        created_at=now, updated_at=now,
    )
    session.add(r)
    await session.flush()
    from services.aid.packages import default_items

    package = AidPackage(recipient_id=r.id, business_type=business_type, value=r.aid_value, delivered_on=aid_date)
    package.items = default_items(settings.program, business_type)
    session.add(package)
    await session.flush()
    await session.refresh(r, ["kecamatan"])
    return r


async def worker(
    session: AsyncSession,
    cipher: NikCipher,
    clock: Clock,
    *,
    kecamatan: Kecamatan | None = None,
    role: WorkerRole = WorkerRole.TKSK,
    name: str = "Nurhayati TKSK",
    phone: str | None = "+6285712345678",
    nik: str | None = None,
) -> FieldWorker:
    kecamatan = kecamatan or await region(session)
    nik = nik or fake_nik("6401")
    now = clock.now()
    w = FieldWorker(
        nik_hash=cipher.blind_index(nik), nik_encrypted=cipher.encrypt(nik), name=name, role=role, phone=phone,
        kecamatan_id=kecamatan.id, active=True, created_at=now, updated_at=now,
    )
    session.add(w)
    await session.flush()
    await session.refresh(w, ["kecamatan"])
    return w


async def staff(session: AsyncSession, clock: Clock, *, role: StaffRole = StaffRole.CASEWORKER,
                name: str = "Budi Dissos") -> Staff:
    s = Staff(name=name, role=role, active=True, created_at=clock.now())
    session.add(s)
    await session.flush()
    return s


async def link(
    session: AsyncSession,
    clock: Clock,
    telegram_user_id: int,
    *,
    recipient: Recipient | None = None,
    worker: FieldWorker | None = None,
    staff: Staff | None = None,
    language: str | None = None,
) -> TelegramAccount:
    """A Telegram account linked to a recipient, field worker or staff member (as if onboarding had run)."""
    now: datetime = clock.now()
    account = TelegramAccount(
        telegram_user_id=telegram_user_id, chat_id=telegram_user_id, first_name="Test", language=language,
        created_at=now, last_seen_at=now,
    )
    account.recipient, account.worker, account.staff = recipient, worker, staff
    if recipient is not None and recipient.onboarding_state == OnboardingState.NOT_JOINED:
        recipient.onboarding_state = OnboardingState.ACTIVE
        recipient.joined_at = now
    session.add(account)
    await session.flush()
    return account
