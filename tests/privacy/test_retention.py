"""Retention: people whose retention ended are anonymised by the scan (NIK cipher and keyed hash removed, names
and phones replaced, photos and voice notes deleted) and every aggregate stays — the survival report is the
same before and after, for every breakdown."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import BusinessStatus, ConsentDecision, OnboardingState, PhotoStatus
from db.models import (
    AuditLog,
    BusinessStatusChange,
    Case,
    Checkin,
    ConsentRecord,
    Photo,
    Recipient,
    TelegramAccount,
)
from services.privacy.anonymise import run_retention
from services.reports import build_report, render_summary, translator
from services.reports.report import BREAKDOWNS
from tests import factories
from tests.conftest import T0


def _media(ctx: AppContext) -> Path:
    media = Path(ctx.settings.storage.media_dir)
    media.mkdir(parents=True, exist_ok=True)
    return media


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def _population(ctx: AppContext, n: int = 40) -> list[int]:
    """Recipients over three kecamatan with status histories, check-ins with notes and voice notes, photos on
    disk (one file shared by two people), cases and linked accounts."""
    rng = random.Random(22)
    media = _media(ctx)
    shared = _write(media / "shared.jpg", b"same picture")
    ids: list[int] = []
    first_photo_id = 0
    async with ctx.session_factory.begin() as s:
        kecs = [await factories.region(s, "Kota Samarinda", "Palaran"),
                await factories.region(s, "Kota Samarinda", "Sungai Kunjang"),
                await factories.region(s, "Paser", "Tanah Grogot")]
        for kec in kecs:
            await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec, name=f"TKSK {kec.name}",
                                   phone=f"+62857{kec.id:07d}")
        for i in range(n):
            aid = date(2025, 6, 1) + timedelta(days=rng.randrange(0, 200))
            r = await factories.recipient(
                s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kecs[i % 3], name=f"Penerima {i}",
                phone=f"+62812{i:08d}", business_type=rng.choice(list(ctx.settings.program.business_types)),
                aid_date=aid, sex=rng.choice("LP"), pkh=rng.random() < 0.5)
            status = rng.choice([BusinessStatus.RUNNING, BusinessStatus.STOPPED, BusinessStatus.PAUSED,
                                 BusinessStatus.UNKNOWN])
            since = T0 - timedelta(days=rng.randrange(1, 200))
            r.business_status, r.business_status_since = status, since
            s.add(BusinessStatusChange(recipient_id=r.id, status=status, changed_at=since))
            checkin = Checkin(recipient_id=r.id, status=status, note=f"catatan {i}", voice_file_id=f"voice{i}",
                              latitude=-0.5, longitude=117.1, submitted_at=since)
            s.add(checkin)
            await s.flush()
            path = shared if i < 2 else media / f"p{i}.jpg"
            if i >= 2:
                _write(path, b"jpeg %d" % i)
            photo = Photo(recipient_id=r.id, checkin_id=checkin.id, file_id=f"f{i}", file_unique_id=f"u{i}",
                          status=PhotoStatus.STORED, path=str(path), sha256=f"{i:064d}", created_at=since)
            if i == 1:  # the same picture as person 0's: flagged as reuse, counted in the report
                photo.reuse_of_photo_id = first_photo_id
                checkin.reuse_flagged = True
            s.add(photo)
            await s.flush()
            if i == 0:
                first_photo_id = photo.id
            if i % 4 == 0:
                s.add(Case(number=f"K-{i}", recipient_id=r.id, kecamatan_id=r.kecamatan_id, kind="capital",
                           urgency="normal", description=f"modal habis {i}", voice_file_id=f"cv{i}",
                           created_at=since, updated_at=since))
            account = await factories.link(s, ctx.clock, 900000 + i, recipient=r)
            account.contact_phone = r.phone
            ids.append(r.id)
    return ids


async def _reports(ctx: AppContext) -> dict[str | None, str]:
    out: dict[str | None, str] = {}
    async with ctx.session_factory() as s:
        for by in (None, *BREAKDOWNS):
            report = await build_report(s, settings=ctx.settings, clock=ctx.clock, breakdown=by)
            out[by] = render_summary(report, translator("id"), "id") + repr(report.overall) + repr(report.groups)
    return out


async def test_program_end_plus_retention_anonymises_everyone_and_the_report_is_unchanged(ctx: AppContext) -> None:
    ids = await _population(ctx)
    niks = {}
    async with ctx.session_factory() as s:
        for r in await s.scalars(select(Recipient)):
            niks[r.id] = ctx.cipher.decrypt(r.nik_encrypted)
    before = await _reports(ctx)
    assert "40" in before[None] and "dipakai ulang: 1 foto" in before[None]
    ctx.settings.privacy.program_end = date(2026, 1, 31)
    ctx.settings.privacy.retention_days_after_program = 30
    # The program ended on 2026-01-31; 30 days of retention end on 2026-03-02 (T0).
    assert await run_retention(ctx, T0 - timedelta(days=1)) == 0
    assert await run_retention(ctx, T0) == len(ids)
    assert await run_retention(ctx, T0 + timedelta(days=1)) == 0, "once"
    after = await _reports(ctx)
    assert after == before, "aggregates stay"
    assert not list(_media(ctx).glob("*.jpg")), "photos deleted"
    async with ctx.session_factory() as s:
        people = list(await s.scalars(select(Recipient).order_by(Recipient.id)))
        for r in people:
            assert r.anonymised_at == T0 and r.name == f"Anonim-{r.id}" and r.phone is None
            assert r.nik_encrypted == b"" and r.nik_hash == f"anonymised:{r.id}"
            assert r.nik_hash != ctx.cipher.blind_index(niks[r.id])
            assert r.address == "" and r.desa == "" and r.dtks_id == "" and r.birth_date.month == 1
        photos = list(await s.scalars(select(Photo)))
        assert len(photos) == len(ids), "the rows stay for the counts"
        assert all(p.status == PhotoStatus.DELETED and p.path is None and p.file_id == "deleted" for p in photos)
        assert sum(p.reuse_of_photo_id is not None for p in photos) == 1
        assert await s.scalar(select(func.count()).select_from(Checkin).where(
            (Checkin.voice_file_id.is_not(None)) | (Checkin.note.is_not(None)) | (Checkin.latitude.is_not(None)))) == 0
        assert await s.scalar(select(func.count()).select_from(Checkin)) == len(ids), "check-ins counted still"
        assert await s.scalar(select(func.count()).select_from(Case).where(
            (Case.voice_file_id.is_not(None)) | (Case.description.is_not(None)))) == 0
        assert await s.scalar(select(func.count()).select_from(TelegramAccount).where(
            (TelegramAccount.recipient_id.is_not(None)) | (TelegramAccount.contact_phone.is_not(None)))) == 0
        assert await s.scalar(select(func.count()).select_from(BusinessStatusChange)) == len(ids)
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "privacy.anonymised")) == len(ids)


async def test_a_person_who_left_is_anonymised_after_their_own_retention(ctx: AppContext) -> None:
    ctx.settings.privacy.retention_days_after_program = 365
    async with ctx.session_factory.begin() as s:
        media = _media(ctx)
        left = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, name="Sudah Keluar",
                                         onboarding_state=OnboardingState.DECLINED)
        stays = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, name="Masih Ikut",
                                          phone="+6281300000009")
        account = await factories.link(s, ctx.clock, 910001)
        s.add(ConsentRecord(telegram_account_id=account.id, recipient_id=left.id, decision=ConsentDecision.AGREE,
                            text_version="v", language="id", at=T0 - timedelta(days=500)))
        s.add(ConsentRecord(telegram_account_id=account.id, recipient_id=left.id, decision=ConsentDecision.WITHDRAW,
                            text_version="v", language="id", at=T0 - timedelta(days=400)))
        photo = _write(media / "left.jpg", b"x")
        s.add(Photo(recipient_id=left.id, file_id="f", file_unique_id="u", status=PhotoStatus.STORED,
                    path=str(photo), created_at=T0))
    assert await run_retention(ctx, T0 - timedelta(days=36)) == 0, "retention not over yet"
    assert await run_retention(ctx, T0) == 1
    async with ctx.session_factory() as s:
        assert (await s.get(Recipient, left.id)).name == f"Anonim-{left.id}"
        assert (await s.get(Recipient, stays.id)).name == "Masih Ikut"
    assert not photo.exists()


async def test_deletion_reaches_the_candidate_copy_assessment_and_hand_over(ctx: AppContext) -> None:
    from db.models import AidPackage, Assessment, Candidate, Handover, Visit

    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s)
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec)
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, nik="6472015507800001")
        candidate = Candidate(
            nik_hash=ctx.cipher.blind_index("6472015507800001"), nik_encrypted=ctx.cipher.encrypt("6472015507800001"),
            name=r.name, sex="P", birth_date=r.birth_date, phone=r.phone, address=r.address, desa=r.desa,
            kecamatan_id=kec.id, stage="handed_over", stage_at=T0, recipient_id=r.id, created_at=T0, updated_at=T0)
        s.add(candidate)
        await s.flush()
        s.add(Assessment(candidate_id=candidate.id, worker_id=tksk.id, status="submitted",
                         answers={"catatan": "rumah di belakang masjid"}, photos=["f1"], latitude=-0.51234,
                         longitude=117.14321, voice_file_id="v1", verdict="layak", score=0.8, started_at=T0,
                         updated_at=T0))
        photo_file = _write(_media(ctx) / "bast.jpg", b"bast")
        photo = Photo(recipient_id=r.id, file_id="bast", file_unique_id="ub", status=PhotoStatus.STORED,
                      path=str(photo_file), created_at=T0)
        s.add(photo)
        await s.flush()
        package = await s.scalar(select(AidPackage).where(AidPackage.recipient_id == r.id))
        s.add(Handover(number="BAST-1", package_id=package.id, recipient_id=r.id, worker_id=tksk.id,
                       handed_over_on=date(2026, 1, 5), handed_over_at=T0, latitude=-0.51234, longitude=117.14321,
                       photo_id=photo.id, total_value=4_750_000, created_at=T0))
        s.add(Visit(recipient_id=r.id, kecamatan_id=kec.id, worker_id=tksk.id, visited_at=T0, latitude=-0.5123,
                    longitude=117.1432, observed_status="running", advice="Tetangga Bu Siti di gang 3",
                    photo_file_ids=["vf1"], created_at=T0))
        r.onboarding_state = OnboardingState.DECLINED
        account = await factories.link(s, ctx.clock, 920001)
        s.add(ConsentRecord(telegram_account_id=account.id, recipient_id=r.id, decision=ConsentDecision.WITHDRAW,
                            text_version="v", language="id", at=T0 - timedelta(days=10)))
    ctx.settings.privacy.retention_days_after_program = 5
    assert await run_retention(ctx, T0) == 1
    async with ctx.session_factory() as s:
        c = await s.get(Candidate, candidate.id)
        assert c.nik_encrypted == b"" and c.nik_hash == f"anonymised:c{c.id}" and c.phone is None
        assert c.name == f"Anonim-{r.id}" and c.address == ""
        a = await s.scalar(select(Assessment))
        assert a.answers == {} and a.photos == [] and a.latitude is None and a.voice_file_id is None
        assert a.verdict == "layak" and a.score == 0.8, "the assessment's figures stay"
        h = await s.scalar(select(Handover))
        assert (h.latitude, h.longitude, h.total_value) == (-0.5, 117.1, 4_750_000)
        v = await s.scalar(select(Visit))
        assert v.advice is None and v.latitude is None and v.photo_file_ids is None
        assert v.observed_status == "running", "what the visit saw stays"
        kept = await s.get(Photo, photo.id)
        assert kept.path is None and kept.file_id == "deleted"
    assert not photo_file.exists()
