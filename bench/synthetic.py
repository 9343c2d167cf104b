"""Synthetic program data for benchmarks and tests: fills a migrated database quickly with N recipients.

    from bench.synthetic import generate
    stats = await generate(engine, n=100_000, cipher=cipher, now=clock.now())

What it writes (all invented; the kecamatan are the real ones of ``/work/shared/data/wilayah-kaltim.csv``):

* ``kabupaten``/``kecamatan`` rows when absent, and one active TKSK per kecamatan that has none;
* ``n`` recipients with valid encrypted NIKs (``NikCipher``) spread over the kecamatan, ~92% with an aid
  date in the last two years (the rest still wait for aid), the six business types, both sexes, ~40% PKH;
* for each, check-in periods every 14 days for the first 90 days after aid, then every 30 days, up to ``now``:
  most done (some late), ~5% missed, ~7% of recipients go silent at some point (every later period missed);
  a check-in per done period, and a business status history row per check-in (worst case for the loaders) plus
  an ``unknown`` row after every missed period;
* realistic survival: stop times with ~70% still running at 12 months (varying a little by business type),
  some pauses and changes of business; after a stop no more periods;
* cases for ~5% of recipients (taken, resolved, open, overdue) and a photo for ~10% of check-ins, ~1% of them
  flagged as reuse of an earlier picture.

``failure_signals=True`` adds a known failure process (for ``bench/risk_score.py``): a business that will stop
declines over the 3–12 weeks before the stop: more missed periods (30%), pauses (25%), days open and the sales
bracket falling, and sometimes (20%) a case at the start of the decline. Everyone else's days open and sales
wander a little around their own level, so the falls are not a give-away. Sales brackets are then the bot's own
codes. Off by default: the other benchmarks' data stay exactly as they were (the extra draws come from a second
random stream).

Rows go in with bulk inserts: executemany of plain tuples on SQLite, ``COPY`` on PostgreSQL. Ids are assigned
here (and PostgreSQL sequences moved past them afterwards). Deterministic for a given ``seed`` and ``now``.
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import survival_facts
from db.models import (
    BusinessStatusChange,
    Case,
    Checkin,
    CheckinDue,
    FieldWorker,
    Kabupaten,
    Kecamatan,
    Photo,
    Recipient,
)
from services.crypto import NikCipher

WILAYAH_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "wilayah-kaltim.csv"
BUSINESS_TYPES = ("makanan", "minuman", "gorengan", "ternak_ayam", "kue", "bengkel_motor")
# Relative hazard of stopping per business type (1.0 = average).
HAZARD = {
    "makanan": 1.0,
    "minuman": 1.15,
    "gorengan": 0.9,
    "ternak_ayam": 1.3,
    "kue": 0.95,
    "bengkel_motor": 0.7,
}
SURVIVAL_12_MONTHS = 0.70
CASE_KINDS = (
    "capital",
    "materials",
    "equipment",
    "no_buyers",
    "health_family",
    "permit_place",
    "other",
    "business_stopped",
)
FIRST = (
    "Siti",
    "Nur",
    "Ahmad",
    "Muhammad",
    "Rahmat",
    "Dewi",
    "Sri",
    "Agus",
    "Budi",
    "Hasanah",
    "Rosmini",
    "Baharuddin",
    "Herman",
    "Yohana",
    "Fitri",
    "Rina",
    "Jumiati",
    "Syamsul",
    "Andi",
    "Marlina",
    "Daeng",
)
LAST = (
    "Saputra",
    "Wijaya",
    "Lestari",
    "Hidayat",
    "Rahman",
    "Anyeq",
    "Sulaiman",
    "Nurhayati",
    "Pratama",
    "Kurniawan",
    "Ismail",
    "Aritonang",
    "Lawing",
    "Hamzah",
    "Syahrani",
    "Ningsih",
    "O'neil",
)
DESA = ("Sidomulyo", "Tanjung Makmur", "Sungai Pinang", "Loa Janan Ilir", "Bukit Raya", "Karang Joang")


@dataclass
class SyntheticStats:
    recipients: int = 0
    with_aid: int = 0
    checkin_dues: int = 0
    checkins: int = 0
    status_changes: int = 0
    cases: int = 0
    photos: int = 0
    kecamatan: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "extra"} | self.extra


def _fmt(value: Any) -> Any:
    """SQLite storage forms as SQLAlchemy writes them (naive UTC text, ISO dates, 0/1)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


async def _bulk(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    await conn.exec_driver_sql(sql, [tuple(_fmt(v) for v in row) for row in rows])


async def _next_id(conn: AsyncConnection, model: Any) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(model.id), 0)))).scalar_one()) + 1


async def _ensure_geography(conn: AsyncConnection, wilayah: Path) -> list[tuple[int, str]]:
    """Kabupaten/kecamatan from the CSV when absent; returns (kecamatan id, code) of every kecamatan."""
    with wilayah.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    kab = dict((await conn.execute(select(Kabupaten.code, Kabupaten.id))).all())
    for r in rows:
        if r["kode_kabupaten"] not in kab:
            res = await conn.execute(
                Kabupaten.__table__.insert().values(code=r["kode_kabupaten"], name=r["kabupaten"])
            )
            kab[r["kode_kabupaten"]] = res.inserted_primary_key[0]
    kec = dict((await conn.execute(select(Kecamatan.code, Kecamatan.id))).all())
    for r in rows:
        if r["kode_kecamatan"] not in kec:
            res = await conn.execute(
                Kecamatan.__table__.insert().values(
                    code=r["kode_kecamatan"], name=r["kecamatan"], kabupaten_id=kab[r["kode_kabupaten"]]
                )
            )
            kec[r["kode_kecamatan"]] = res.inserted_primary_key[0]
    return sorted((i, code) for code, i in kec.items())


def _nik(rng: random.Random, kec_code: str, birth: date, female: bool) -> str:
    day = birth.day + (40 if female else 0)
    return f"{kec_code[:6]}{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randrange(10_000):04d}"


def _schedule(
    aid: date, until: date, early_every: int = 14, early_days: int = 90, late_every: int = 30
) -> list[date]:
    days, d = [], early_every
    while True:
        day = aid + timedelta(days=d)
        if day > until:
            return days
        days.append(day)
        d += early_every if d < early_days else late_every


async def generate(
    engine: AsyncEngine,
    *,
    n: int,
    cipher: NikCipher,
    now: datetime,
    seed: int = 1,
    tz: str = "Asia/Makassar",
    wilayah: Path = WILAYAH_CSV,
    chunk: int = 2_000,
    progress: Any = None,
    failure_signals: bool = False,
) -> SyntheticStats:
    """Insert ``n`` synthetic recipients with two years of history up to ``now`` (see the module docs)."""
    zone = ZoneInfo(tz)
    rng = random.Random(seed)
    frng = random.Random(seed * 7919 + 1)  # the failure process's own stream (see the module docs)
    brackets = ("lt250k", "250k_500k", "500k_1m", "1m_2m", "gt2m")
    today = now.astimezone(zone).date()
    stats = SyntheticStats(recipients=n)
    base_rate = -math.log(SURVIVAL_12_MONTHS) / 365.0

    async with engine.begin() as conn:
        kecamatan = await _ensure_geography(conn, wilayah)
        stats.kecamatan = len(kecamatan)
        with_tksk = set(
            (await conn.execute(select(FieldWorker.kecamatan_id).where(FieldWorker.role == "tksk"))).scalars()
        )
        wid = await _next_id(conn, FieldWorker)
        workers = []
        for kid, code in kecamatan:
            if kid in with_tksk:
                continue
            nik = _nik(rng, code, date(1980, 1, 1) + timedelta(days=rng.randrange(7000)), rng.random() < 0.5)
            workers.append(
                (
                    wid,
                    cipher.blind_index(nik),
                    cipher.encrypt(nik),
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "tksk",
                    f"+628{rng.randrange(10**9, 10**10)}",
                    kid,
                    True,
                    now,
                    now,
                )
            )
            wid += 1
        await _bulk(
            conn,
            "field_workers",
            (
                "id",
                "nik_hash",
                "nik_encrypted",
                "name",
                "role",
                "phone",
                "kecamatan_id",
                "active",
                "created_at",
                "updated_at",
            ),
            workers,
        )
        ids = {
            m: await _next_id(conn, m)
            for m in (Recipient, CheckinDue, Checkin, BusinessStatusChange, Case, Photo)
        }
        existing_hashes = set((await conn.execute(select(Recipient.nik_hash))).scalars())

    rid, did, cid, sid, case_id, pid = (
        ids[m] for m in (Recipient, CheckinDue, Checkin, BusinessStatusChange, Case, Photo)
    )
    case_no = case_id
    done = 0
    while done < n:
        size = min(chunk, n - done)
        recipients, dues, checkins, changes, cases, photos = [], [], [], [], [], []
        for _ in range(size):
            kid, code = kecamatan[rng.randrange(len(kecamatan))]
            female = rng.random() < 0.62
            birth = date(1960, 1, 1) + timedelta(days=rng.randrange(16_000))
            while True:
                nik = _nik(rng, code, birth, female)
                h = cipher.blind_index(nik)
                if h not in existing_hashes:
                    existing_hashes.add(h)
                    break
            btype = rng.choice(BUSINESS_TYPES)
            has_aid = rng.random() < 0.92
            aid = today - timedelta(days=rng.randrange(0, 730)) if has_aid else None
            created = datetime.combine((aid or today) - timedelta(days=30), time(9), zone)
            status, since, joined, onboarding = "unknown", None, None, "not_joined"
            if aid is not None:
                onboarding = "active" if rng.random() < 0.95 else rng.choice(("aid_receipt", "profile"))
                joined = datetime.combine(aid - timedelta(days=rng.randrange(1, 20)), time(10), zone)
                hazard = base_rate * HAZARD[btype] * (0.9 if rng.random() < 0.4 else 1.05)
                stop_day = int(rng.expovariate(hazard)) + 1
                silent_day = int(rng.uniform(30, 900)) if rng.random() < 0.07 * 730 / 365 else 10**6
                changed = rng.random() < 0.03
                if failure_signals:
                    lead = frng.randint(21, 84)
                    days_level, sales_level = frng.randint(5, 7), frng.randint(1, 3)
                    decline_case = frng.random() < 0.2
                period = 0
                for due_day in _schedule(aid, today):
                    period += 1
                    due_at = datetime.combine(due_day, time(8), zone)
                    age = (due_day - aid).days
                    window_open = (today - due_day).days < 6
                    decline = failure_signals and stop_day - lead <= age < stop_day
                    if decline and decline_case and due_at <= now:
                        decline_case = False
                        cases.append((case_id, f"K{case_no:07d}", rid, kid, "no_buyers", "normal", "taken", "report",
                                      False, due_at + timedelta(hours=5), None, False, due_at, now))
                        case_id += 1
                        case_no += 1
                    if age >= silent_day or (not window_open and rng.random() < 0.05) or (
                            decline and not window_open and frng.random() < 0.3):
                        if window_open:
                            dues.append((did, rid, period, due_at, "open", None, None))
                        else:
                            missed_at = due_at + timedelta(days=5, hours=1)
                            dues.append((did, rid, period, due_at, "missed", None, missed_at))
                            if status != "unknown":
                                changes.append((sid, rid, "unknown", missed_at, None))
                                sid += 1
                                status, since = "unknown", missed_at
                        did += 1
                        continue
                    late = rng.random() < 0.22
                    done_at = due_at + (
                        timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 10))
                        if late
                        else timedelta(hours=rng.uniform(0.2, 12))
                    )
                    if done_at > now:
                        dues.append((did, rid, period, due_at, "open", None, None))
                        did += 1
                        continue
                    if age >= stop_day:
                        new = "stopped"
                    elif changed and age > 120 and status != "changed" and rng.random() < 0.2:
                        new = "changed"
                    elif rng.random() < 0.04:
                        new = "paused"
                    elif decline and frng.random() < 0.25:
                        new = "paused"
                    else:
                        new = (
                            "changed"
                            if status == "changed" or (status == "paused" and changed)
                            else "running"
                        )
                    dues.append((did, rid, period, due_at, "done", done_at, None))
                    flagged = rng.random() < 0.01
                    days_open = rng.randint(0, 7) if new != "stopped" else 0
                    sales = rng.choice(("lt500k", "500k_1m", "1m_3m", "gt3m"))
                    if failure_signals:
                        # The decline deepens towards the stop; elsewhere a little noise around one's own level.
                        depth = (age - (stop_day - lead)) / lead if decline else 0.0
                        days_open = max(0, min(7, days_level - round(4 * depth) + frng.choice((-1, 0, 0, 0, 1))))
                        drop = round(2.5 * depth) if frng.random() < 0.8 else 0
                        noise = frng.choice((-1, 0, 0, 0, 0, 0, 1))
                        sales = brackets[max(0, min(4, sales_level - drop + noise))]
                        if new == "stopped":
                            days_open = 0
                    checkins.append(
                        (
                            cid,
                            rid,
                            did,
                            False,
                            new,
                            days_open,
                            sales,
                            flagged,
                            done_at,
                        )
                    )
                    changes.append((sid, rid, new, done_at, cid))
                    if new != status:
                        since = done_at
                    status = new
                    if rng.random() < 0.10 or flagged:
                        sha = hashlib.sha256(f"{seed}-{pid}".encode()).hexdigest()
                        reuse = pid - rng.randint(1, 50) if flagged and pid > ids[Photo] + 50 else None
                        photos.append(
                            (
                                pid,
                                rid,
                                cid,
                                f"f{pid}",
                                f"u{pid}",
                                120_000,
                                1280,
                                960,
                                sha,
                                f"{sha[:2]}/{sha}.jpg",
                                "stored",
                                1,
                                reuse,
                                done_at,
                            )
                        )
                        pid += 1
                    sid += 1
                    did += 1
                    cid += 1
                    if new == "stopped":
                        break
                if rng.random() < 0.05:
                    opened = datetime.combine(
                        aid + timedelta(days=rng.randrange(1, max(2, (today - aid).days + 1))), time(10), zone
                    )
                    if opened <= now:
                        taken = opened + timedelta(hours=rng.uniform(0.5, 60)) if rng.random() < 0.8 else None
                        resolved = (
                            taken + timedelta(days=rng.uniform(0.5, 14))
                            if taken is not None and rng.random() < 0.6
                            else None
                        )
                        taken = taken if taken is None or taken <= now else None
                        resolved = resolved if resolved is None or resolved <= now else None
                        state = "resolved" if resolved else ("taken" if taken else "new")
                        overdue = state != "resolved" and (now - opened) > timedelta(days=5)
                        cases.append(
                            (
                                case_id,
                                f"K{case_no:07d}",
                                rid,
                                kid,
                                rng.choice(CASE_KINDS),
                                rng.choice(("high", "normal", "low")),
                                state,
                                "report",
                                False,
                                taken,
                                resolved,
                                overdue,
                                opened,
                                now,
                            )
                        )
                        case_id += 1
                        case_no += 1
            recipients.append(
                (
                    rid,
                    h,
                    cipher.encrypt(nik),
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "P" if female else "L",
                    birth,
                    f"+628{rng.randrange(10**9, 10**10)}",
                    f"Jl. Mawar RT {rng.randint(1, 40)} No. {rng.randint(1, 99)}",
                    rng.choice(DESA),
                    kid,
                    f"DTKS{rng.randrange(10**10):010d}",
                    rng.random() < 0.4,
                    btype,
                    rng.choice((4_500_000, 4_750_000, 5_000_000)),
                    aid,
                    onboarding,
                    status,
                    since,
                    joined,
                    created,
                    now,
                )
            )
            rid += 1
        async with engine.begin() as conn:
            await _bulk(
                conn,
                "recipients",
                (
                    "id",
                    "nik_hash",
                    "nik_encrypted",
                    "name",
                    "sex",
                    "birth_date",
                    "phone",
                    "address",
                    "desa",
                    "kecamatan_id",
                    "dtks_id",
                    "pkh",
                    "business_type",
                    "aid_value",
                    "aid_date",
                    "onboarding_state",
                    "business_status",
                    "business_status_since",
                    "joined_at",
                    "created_at",
                    "updated_at",
                ),
                recipients,
            )
            await _bulk(
                conn,
                "checkin_dues",
                ("id", "recipient_id", "period_no", "due_at", "state", "completed_at", "missed_at"),
                dues,
            )
            await _bulk(
                conn,
                "checkins",
                (
                    "id",
                    "recipient_id",
                    "checkin_due_id",
                    "is_extra",
                    "status",
                    "days_open",
                    "sales_bracket",
                    "reuse_flagged",
                    "submitted_at",
                ),
                checkins,
            )
            await _bulk(
                conn,
                "business_status_changes",
                ("id", "recipient_id", "status", "changed_at", "checkin_id"),
                changes,
            )
            await _bulk(
                conn,
                "photos",
                (
                    "id",
                    "recipient_id",
                    "checkin_id",
                    "file_id",
                    "file_unique_id",
                    "file_size",
                    "width",
                    "height",
                    "sha256",
                    "path",
                    "status",
                    "attempts",
                    "reuse_of_photo_id",
                    "created_at",
                ),
                photos,
            )
            await _bulk(
                conn,
                "cases",
                (
                    "id",
                    "number",
                    "recipient_id",
                    "kecamatan_id",
                    "kind",
                    "urgency",
                    "state",
                    "source",
                    "with_dissos",
                    "taken_at",
                    "resolved_at",
                    "overdue",
                    "created_at",
                    "updated_at",
                ),
                cases,
            )
        stats.with_aid += sum(1 for r in recipients if r[14] is not None)
        stats.checkin_dues += len(dues)
        stats.checkins += len(checkins)
        stats.status_changes += len(changes)
        stats.cases += len(cases)
        stats.photos += len(photos)
        done += size
        if progress is not None:
            progress(done, n)

    async with engine.begin() as conn:
        # Bulk inserts skip the ORM events that keep the recipients' survival facts: fill them as migration 0012.
        await survival_facts.refresh(conn)
        if conn.dialect.name == "postgresql":
            for table in (
                "field_workers",
                "recipients",
                "checkin_dues",
                "checkins",
                "business_status_changes",
                "cases",
                "photos",
                "kabupaten",
                "kecamatan",
            ):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                    )
                )
            await conn.execute(text("ANALYZE"))
        else:
            await conn.exec_driver_sql("ANALYZE")
    return stats


__all__ = ["SyntheticStats", "generate"]
