"""``uep assessments approve FILE``: dry run, report, exit codes; an unassessed candidate only with an admin's
override and a reason; a refused row changes nothing."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from db.enums import CandidateStage, StaffRole
from db.models import Candidate, CandidateEvent, OutboxMessage, Recipient
from tests import factories
from tests.importing.conftest import in_db
from tests.preaid.helpers import assessed, candidate


def _setup(settings, cipher, clock):  # type: ignore[no-untyped-def]
    async def make(s):  # type: ignore[no-untyped-def]
        kec = await factories.region(s, "Kutai Barat", "Muara Pahu")
        tksk = await factories.worker(s, cipher, clock, kecamatan=kec)
        await factories.link(s, clock, 970001, worker=tksk)
        await factories.staff(s, clock, role=StaffRole.ADMIN, name="Ani Admin")
        niks = ["6402000000000011", "6402000000000012", "6402000000000013", "6402000000000014"]
        made = [await candidate(s, cipher, clock, kecamatan=kec, name=f"Calon {i}", nik=n)
                for i, n in enumerate(niks)]
        for c in made[:3]:
            await assessed(s, clock, settings, tksk, c.id)
        await s.commit()
        return niks

    return in_db(settings, make)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["nik", "keputusan", "jenis_usaha", "alasan"])
        w.writeheader()
        w.writerows(rows)
    return path


def _stages(settings):  # type: ignore[no-untyped-def]
    async def read(s):  # type: ignore[no-untyped-def]
        return {c.name: c.stage for c in await s.scalars(select(Candidate))}

    return in_db(settings, read)


def test_bulk_approve_dry_run_report_and_override(uep, settings, cipher, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    niks = _setup(settings, cipher, clock)
    rows = [
        {"nik": niks[0], "keputusan": "setuju", "jenis_usaha": "", "alasan": ""},
        {"nik": niks[1], "keputusan": "setuju", "jenis_usaha": "Bengkel Motor", "alasan": ""},
        {"nik": niks[2], "keputusan": "tolak", "jenis_usaha": "", "alasan": ""},  # no reason: refused
        {"nik": niks[3], "keputusan": "setuju", "jenis_usaha": "kue", "alasan": ""},  # never assessed
        {"nik": "6402999999999999", "keputusan": "setuju", "jenis_usaha": "", "alasan": ""},
    ]
    path = _write(tmp_path / "keputusan.csv", rows)
    dry = uep("assessments", "approve", str(path), "--dry-run", "--report", str(tmp_path / "r.csv"))
    assert dry.exit_code == 1, dry.output
    assert "UJI COBA" in dry.output and "2 disetujui, 0 tidak disetujui, 3 ditolak" in dry.output
    assert set(_stages(settings).values()) == {CandidateStage.ASSESSED, CandidateStage.CANDIDATE}

    out = uep("assessments", "approve", str(path), "--by", "Budi", "--report", str(tmp_path / "r.csv"))
    assert out.exit_code == 1, out.output
    assert "baris 4: alasan wajib diisi untuk penolakan" in out.output
    assert "baris 5: calon belum diasesmen" in out.output and "baris 6: NIK tidak ada di daftar calon" in out.output
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as fh:
        assert [r["baris"] for r in csv.DictReader(fh)] == ["4", "5", "6"]
    assert _stages(settings) == {"Calon 0": "package_set", "Calon 1": "package_set", "Calon 2": "assessed",
                                 "Calon 3": "candidate"}

    async def recipients(s):  # type: ignore[no-untyped-def]
        return {r.name: (r.business_type, r.aid_value) for r in await s.scalars(select(Recipient))}

    assert in_db(settings, recipients) == {"Calon 0": ("kue", 4_750_000), "Calon 1": ("bengkel_motor", 4_800_000)}

    async def told(s):  # type: ignore[no-untyped-def]
        return [m.text for m in await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]

    texts = in_db(settings, told)  # the TKSK is told through the outbox (sent by the bot after the commit)
    assert len(texts) == 2 and "Dinas Sosial menyetujui Calon 0: Kue, paket Rp4.750.000" in texts[0]
    assert "Calon 1: Bengkel motor, paket Rp4.800.000" in texts[1]

    # An admin overrides for the candidate never assessed, with a reason (recorded); a second run refuses
    # what is already decided.
    fix = _write(tmp_path / "fix.csv", [
        {"nik": niks[3], "keputusan": "setuju", "jenis_usaha": "kue", "alasan": "Korban banjir, asesmen menyusul"},
        {"nik": niks[2], "keputusan": "tolak", "jenis_usaha": "", "alasan": "Pindah ke luar provinsi"},
    ])
    missing_admin = uep("assessments", "approve", str(fix), "--admin", "Nobody")
    assert missing_admin.exit_code == 2 and "tidak ada admin aktif" in missing_admin.output
    ok = uep("assessments", "approve", str(fix), "--admin", "Ani Admin")
    assert ok.exit_code == 0, ok.output
    assert _stages(settings)["Calon 3"] == "package_set" and _stages(settings)["Calon 2"] == "not_approved"
    assert "tidak menyetujui Calon 2. Alasan: Pindah ke luar provinsi" in in_db(settings, told)[-1]

    async def override_event(s):  # type: ignore[no-untyped-def]
        return (await s.scalars(select(CandidateEvent).where(CandidateEvent.action == "approved_override"))).one()

    event = in_db(settings, override_event)
    assert event.actor == "admin Ani Admin (cli)" and "Korban banjir" in (event.note or "")
    again = uep("assessments", "approve", str(fix), "--admin", "Ani Admin")
    assert again.exit_code == 2 and "calon sudah diputuskan sebelumnya" in again.output
