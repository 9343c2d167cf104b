"""Helpers for the report tests: a small region (two kabupaten, three kecamatan, TKSK in two of them) and
recipients with hand-chosen histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.models import BusinessStatusChange, Checkin, FieldWorker, Kabupaten, Kecamatan, Recipient
from services.crypto import NikCipher
from tests.conftest import T0

WITA = ZoneInfo("Asia/Makassar")


def wita(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A local (WITA) wall-clock time as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), WITA).astimezone(UTC)


@dataclass
class Region:
    kab_a: int
    kab_b: int
    kec_a1: int  # in kab A, has TKSK "Tini"
    kec_a2: int  # in kab A, has TKSK "Udin"
    kec_b1: int  # in kab B, no TKSK
    tksk_a1: int
    tksk_a2: int


@pytest.fixture
async def region(session, cipher: NikCipher) -> Region:  # type: ignore[no-untyped-def]
    a = Kabupaten(code="6401", name="Paser")
    b = Kabupaten(code="6472", name="Kota Samarinda")
    session.add_all([a, b])
    await session.flush()
    k1 = Kecamatan(code="640101", name="Batu Sopang", kabupaten_id=a.id)
    k2 = Kecamatan(code="640104", name="Tanah Grogot", kabupaten_id=a.id)
    k3 = Kecamatan(code="647201", name="Palaran", kabupaten_id=b.id)
    session.add_all([k1, k2, k3])
    await session.flush()
    workers = []
    for kec, name, nik in ((k1, "Tini", "6401015107726943"), (k2, "Udin", "6401024408963953")):
        w = FieldWorker(
            nik_hash=cipher.blind_index(nik),
            nik_encrypted=cipher.encrypt(nik),
            name=name,
            role="tksk",
            phone="+6281234567890",
            kecamatan_id=kec.id,
            active=True,
            created_at=T0,
            updated_at=T0,
        )
        workers.append(w)
    session.add_all(workers)
    await session.flush()
    await session.commit()
    return Region(a.id, b.id, k1.id, k2.id, k3.id, workers[0].id, workers[1].id)


_serial = iter(range(1, 10**6))


def add_recipient(
    session,  # type: ignore[no-untyped-def]
    cipher: NikCipher,
    *,
    kecamatan_id: int,
    aid_date: date | None,
    status: str = "unknown",
    since: datetime | None = None,
    sex: str = "P",
    pkh: bool = False,
    business_type: str = "makanan",
    name: str | None = None,
    phone: str | None = "+6281300000001",
    nik: str | None = None,
    onboarding_state: str = "active",
) -> Recipient:
    serial = next(_serial)
    nik = nik or f"640101{serial:010d}"
    r = Recipient(
        nik_hash=cipher.blind_index(nik),
        nik_encrypted=cipher.encrypt(nik),
        name=name or f"Penerima {serial}",
        sex=sex,
        birth_date=date(1980, 5, 17),
        phone=phone,
        address="Jl. Mawar RT 3 No. 9",
        desa="Sidomulyo",
        kecamatan_id=kecamatan_id,
        dtks_id=f"DTKS{serial:08d}",
        pkh=pkh,
        business_type=business_type,
        aid_value=4_750_000,
        aid_date=aid_date,
        onboarding_state=onboarding_state,
        business_status=status,
        business_status_since=since,
        created_at=T0 - timedelta(days=500),
        updated_at=T0,
    )
    session.add(r)
    return r


def add_history(session, recipient_id: int, *rows: tuple[str, datetime]) -> None:  # type: ignore[no-untyped-def]
    for status, at in rows:
        session.add(BusinessStatusChange(recipient_id=recipient_id, status=status, changed_at=at))


def add_checkin(session, recipient_id: int, status: str, at: datetime, **kw) -> Checkin:  # type: ignore[no-untyped-def]
    c = Checkin(recipient_id=recipient_id, status=status, submitted_at=at, **kw)
    session.add(c)
    return c
