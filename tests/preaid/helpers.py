"""Candidates made directly in the database for the before-the-aid tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import CandidateStage
from db.models import Candidate, Kecamatan
from services.clock import Clock
from services.crypto import NikCipher
from tests.factories import fake_nik


async def candidate(session: AsyncSession, cipher: NikCipher, clock: Clock, *, kecamatan: Kecamatan,
                    name: str = "Rusmini", preferred: str | None = "kue", nik: str | None = None) -> Candidate:
    nik = nik or fake_nik("6402")
    now = clock.now()
    c = Candidate(
        nik_hash=cipher.blind_index(nik), nik_encrypted=cipher.encrypt(nik), name=name, sex="P",
        birth_date=date(1979, 4, 2), phone="+6281300000001", address="Jl. Pramuka RT 3", desa="Karang Makmur",
        kecamatan_id=kecamatan.id, dtks_id="DTKS1", pkh=True, preferred_business_type=preferred,
        stage=CandidateStage.CANDIDATE, stage_at=now, created_at=now, updated_at=now,
    )
    session.add(c)
    await session.flush()
    await session.refresh(c, ["kecamatan"])
    return c


# The questionnaire of config.toml answered for a feasible kue business (every aspect mean > 3).
LAYAK_ANSWERS = [
    ("Usaha apa yang paling dikuasai calon?", "Kue"),
    ("Berapa lama pengalaman", "3–5 tahun"),
    ("Tempat berjualan?", "Di rumah, jalan ramai"),
    ("Usaha apa yang paling dicari", "Kue"),
    ("Permintaan dan pesaing", "Ramai, ada pesaing"),
    ("Bahan baku tersedia", "Ada, dekat"),
    ("Ada yang membantu", "Ada satu orang"),
    ("Kesehatan dan tenaga", "Sehat"),
    ("Penghasilan lain", "Ada, kecil"),
    ("Semangat calon", "Sangat bersemangat, punya rencana"),
]


async def assessed(session: AsyncSession, clock: Clock, settings, worker, candidate_id: int,  # type: ignore[no-untyped-def]
                   score: int = 4, business_type: str = "kue"):
    """A submitted assessment made through the service (as the /asesmen flow does)."""
    from services.aid import assessment as rules
    from services.photos import PhotoRef

    a = await rules.start_or_resume(session, clock, worker, candidate_id)
    rules.set_location(a, clock, -0.5, 117.1)
    rules.add_photo(a, clock, PhotoRef(f"file-{candidate_id}", f"uniq-{candidate_id}"), settings)
    rules.photos_done(a, clock, settings)
    for q in settings.assessment.questions:
        rules.answer(a, clock, settings, q.key, business_type if q.kind == "business_type" else str(score))
    rules.set_voice(a, clock, None)
    rules.recommend(a, clock, settings, business_type)
    rules.set_reason(a, clock, "cocok")
    await rules.submit(session, clock, a, settings, actor=rules.worker_actor(worker, None))
    from db.enums import PhotoStatus
    from db.models import Photo

    for p in a.photos:  # a made-up file id Telegram (the emulator) does not know: never downloaded
        photo = await session.get(Photo, p["photo_id"])
        photo.status, photo.next_attempt_at = PhotoStatus.FAILED, None
    return a
