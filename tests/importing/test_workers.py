"""Field worker import: the sample file, one TKSK per kecamatan, re-import, replacement of a TKSK."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import WorkerRole
from db.models import FieldWorker
from tests.importing.conftest import WORKERS, read_rows, run_import, with_wilayah, write_rows


async def test_sample_workers_import(ctx: AppContext) -> None:
    result = await run_import(ctx, "workers", WORKERS)
    assert (result.rows, result.new, result.rejected, result.exit_code) == (154, 154, [], 0)
    async with ctx.session_factory() as session:
        roles = dict(
            (await session.execute(select(FieldWorker.role, func.count()).group_by(FieldWorker.role))).all()
        )
        assert roles == {WorkerRole.TKSK: 103, WorkerRole.PSM: 51}
        per_kec = (
            await session.execute(
                select(FieldWorker.kecamatan_id, func.count())
                .where(FieldWorker.role == WorkerRole.TKSK)
                .group_by(FieldWorker.kecamatan_id)
            )
        ).all()
        assert len(per_kec) == 103 and all(n == 1 for _k, n in per_kec)
        _h, rows = read_rows(WORKERS)
        first = await session.scalar(
            select(FieldWorker).where(FieldWorker.nik_hash == ctx.cipher.blind_index(rows[0]["nik"]))
        )
        assert first is not None and first.phone == "+62" + rows[0]["no_hp"][1:]
        assert ctx.cipher.decrypt(first.nik_encrypted) == rows[0]["nik"]
    again = await run_import(ctx, "workers", WORKERS)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 154)


async def test_second_tksk_for_a_kecamatan_in_the_file_is_rejected(ctx: AppContext, tmp_path: Path) -> None:
    header, rows = read_rows(WORKERS)
    psm = next(r for r in rows if r["peran"] == "PSM")
    duplicate = dict(psm, peran="tksk")  # a second TKSK for the same kecamatan
    path = write_rows(with_wilayah(tmp_path) / "w.csv", header, [*rows, duplicate])
    result = await run_import(ctx, "workers", path)
    assert result.exit_code == 1
    (rejection,) = result.rejected
    assert rejection.line == len(rows) + 2
    assert "sudah punya TKSK di baris" in rejection.reason
    assert "NIK sama dengan baris" in rejection.reason  # and it is the same person as an earlier row


async def test_reimport_moving_tksk_deactivates_the_previous_one(ctx: AppContext, tmp_path: Path) -> None:
    header, rows = read_rows(WORKERS)
    with_wilayah(tmp_path)
    await run_import(ctx, "workers", write_rows(tmp_path / "w.csv", header, rows))
    old = rows[0]
    assert old["peran"] == "TKSK"
    newcomer = dict(old, nik="6401019999990001", nama="Pengganti Baru", no_hp="0811-2222-333")
    result = await run_import(ctx, "workers", write_rows(tmp_path / "w2.csv", header, [newcomer]))
    assert (result.new, result.deactivated, result.exit_code) == (1, 1, 0)
    assert "dinonaktifkan" in result.notes[0]
    async with ctx.session_factory() as session:
        active = (
            await session.scalars(
                select(FieldWorker.name).where(
                    FieldWorker.role == WorkerRole.TKSK,
                    FieldWorker.active.is_(True),
                    FieldWorker.kecamatan.has(name=old["kecamatan"]),
                )
            )
        ).all()
        assert active == ["Pengganti Baru"]
    # The previous TKSK comes back in a later file, as PSM: reactivated with the new role.
    back = dict(old, peran="PSM")
    result = await run_import(ctx, "workers", write_rows(tmp_path / "w3.csv", header, [back]))
    assert (result.updated, result.deactivated) == (1, 0)
    async with ctx.session_factory() as session:
        worker = await session.scalar(
            select(FieldWorker).where(FieldWorker.nik_hash == ctx.cipher.blind_index(old["nik"]))
        )
        assert worker is not None and (worker.role, worker.active) == (WorkerRole.PSM, True)
