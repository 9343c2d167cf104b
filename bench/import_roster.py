"""Benchmark: ``uep import roster`` of a large synthetic roster, end to end, on a fresh database.

    .venv/bin/python bench/import_roster.py                 # 100,000 rows on SQLite
    .venv/bin/python bench/import_roster.py --rows 20000    # smaller
    .venv/bin/python bench/import_roster.py --postgres      # also on PostgreSQL (scratch database)
    .venv/bin/python bench/import_roster.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

It writes a realistic roster CSV (real kecamatan of ``wilayah-kaltim.csv``, the spellings people type:
``08…``/``+62 …``/``62…`` phones with spaces and dashes, kabupaten with or without ``Kota``, business types
as words, upper-case kecamatan) into a temporary folder next to a copy of ``wilayah-kaltim.csv`` (so the
import loads the wilayah first, as a clerk's first run would), creates a fresh database with
``uep db upgrade`` and times the real ``.venv/bin/uep import roster FILE`` process, then a second run of the
same file (everything unchanged). The PostgreSQL run uses a scratch database created and dropped here.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WILAYAH = ROOT.parent / "shared" / "data" / "wilayah-kaltim.csv"
UEP = ROOT / ".venv" / "bin" / "uep"
DEFAULT_PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

FIRST = [
    "Siti",
    "Nur",
    "Budi",
    "Rusmini",
    "Wahyuni",
    "Markus",
    "Petrus",
    "Mariam",
    "Erna",
    "Abdul",
    "Herman",
    "Baharuddin",
    "Rusdi",
    "Kartini",
    "Jumriah",
    "Sulaiman",
    "Marlina",
    "Syamsul",
    "Nur'aini",
    "Yohana",
]
LAST = [
    "Saputra",
    "Wijaya",
    "Lestari",
    "Daeng",
    "Rahman",
    "Hidayat",
    "Sinaga",
    "Lawing",
    "Ma’ruf",
    "Anyeq",
    "Bilung",
    "Usman",
    "Marzuki",
    "Ladjar",
    "Hang",
    "Syahputra",
]
STREETS = [
    "Jl. Juanda",
    "Jl. Ahmad Yani",
    "Jl. Gatot Subroto",
    "Gg. Mawar",
    "Jl. Damai",
    "Jl. Poros",
    "Jl. Diponegoro",
    "Jl. Cendana",
    "Jl. Pangeran Antasari",
]
DESA = ["Loa Indah", "Suka Indah", "Rapak Jaya", "Karang Ilir", "Muara Indah", "Bukit Jaya", "Tanjung Baru"]
TYPES = [
    "makanan",
    "minuman",
    "gorengan",
    "ternak_ayam",
    "kue",
    "bengkel_motor",
    "Ternak Ayam",
    "Bengkel Motor",
    "MAKANAN",
]
HEADER = [
    "nik",
    "nama",
    "jenis_kelamin",
    "tanggal_lahir",
    "no_hp",
    "alamat",
    "desa",
    "kecamatan",
    "kabupaten",
    "id_dtks",
    "pkh",
    "jenis_usaha",
    "nilai_bantuan",
    "tanggal_bantuan",
]


def _phone(rng: random.Random) -> str:
    national = "8" + "".join(rng.choice("0123456789") for _ in range(rng.randint(9, 10)))
    style = rng.random()
    if style < 0.08:
        return ""
    if style < 0.70:
        return "0" + national
    if style < 0.82:
        return f"+62 {national[:3]}-{national[3:7]}-{national[7:]}"
    if style < 0.92:
        return "62" + national
    return f"0{national[:3]} {national[3:7]} {national[7:]}"


def generate(path: Path, rows: int, seed: int = 20261128) -> None:
    rng = random.Random(seed)
    with WILAYAH.open(encoding="utf-8") as fh:
        regions = [(r["kode_kecamatan"], r["kabupaten"], r["kecamatan"]) for r in csv.DictReader(fh)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        seq: dict[str, int] = {}
        for _ in range(rows):
            kec_code, kab, kec = rng.choice(regions)
            female = rng.random() < 0.6
            birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 42 * 365))
            day = birth.day + (40 if female else 0)
            prefix = f"{kec_code}{day:02d}{birth.month:02d}{birth.year % 100:02d}"
            seq[prefix] = (
                seq.get(prefix, 0) + 1
            )  # the NIK's last four digits: a serial per prefix, as Dukcapil
            nik = f"{prefix}{seq[prefix]:04d}"
            if kab.startswith("Kota ") and rng.random() < 0.3:
                kab = kab.removeprefix("Kota ").upper()
            if rng.random() < 0.1:
                kec = f" {kec.lower()} "
            aid = date(2025, 7, 1) + timedelta(days=rng.randint(0, 150))
            writer.writerow(
                [
                    nik,
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}".upper()
                    if rng.random() < 0.5
                    else f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "P" if female else "L",
                    birth.isoformat(),
                    _phone(rng),
                    f"{rng.choice(STREETS)} RT {rng.randint(1, 40):02d} No. {rng.randint(1, 120)}",
                    rng.choice(DESA),
                    kec,
                    kab,
                    f"DTKS{rng.randint(10**9, 10**10 - 1)}",
                    rng.choice("YT"),
                    rng.choice(TYPES),
                    rng.choice(["4500000", "4750000", "5000000"]),
                    "" if rng.random() < 0.15 else aid.isoformat(),
                ]
            )


def _uep(env: dict[str, str], cwd: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run([str(UEP), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def run(url: str, roster: Path, rows: int, label: str) -> None:
    from services.crypto import generate_data_key

    env = {k: v for k, v in os.environ.items() if not k.startswith("UEP_")}
    env.update(
        UEP_DATABASE__URL=url,
        UEP_SECURITY__DATA_KEY=generate_data_key(),
        UEP_CONFIG=str(ROOT / "config.toml"),
    )
    _t, proc = _uep(env, roster.parent, "db", "upgrade")
    if proc.returncode != 0:
        sys.exit(f"{label}: db upgrade failed:\n{proc.stderr}")
    for attempt in ("first import (all new)", "second import (all unchanged)"):
        seconds, proc = _uep(env, roster.parent, "import", "roster", str(roster))
        summary = next((ln for ln in proc.stdout.splitlines() if "baris dibaca" in ln), proc.stdout.strip())
        timing = next(
            (ln.split("import roster ", 1)[1] for ln in proc.stderr.splitlines() if "import roster" in ln), ""
        )
        print(
            f"{label:10} {attempt:30} exit {proc.returncode}  {seconds:6.1f} s  {rows / seconds:8,.0f} rows/s"
        )
        print(f"{'':10}   {summary}")
        if timing:
            print(f"{'':10}   {timing.split(': ', 1)[-1]}")
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_PG_ADMIN,
        metavar="ADMIN_URL",
        help=f"also run on PostgreSQL; a scratch database is created via ADMIN_URL "
        f"(default {DEFAULT_PG_ADMIN})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (CSV and SQLite file)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="uep-bench-import-"))
    try:
        roster = tmp / "roster.csv"
        start = time.perf_counter()
        generate(roster, args.rows)
        shutil.copyfile(WILAYAH, tmp / WILAYAH.name)
        size = roster.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows ({size:.1f} MB) in {time.perf_counter() - start:.1f} s: {roster}"
        )
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        run(f"sqlite+aiosqlite:///{tmp / 'bench.db'}", roster, args.rows, "SQLite")
        if args.postgres:
            name = f"uep_bench_{os.getpid()}"
            asyncio.run(_pg_admin(args.postgres, f'CREATE DATABASE "{name}"'))
            try:
                url = args.postgres.rsplit("/", 1)[0] + "/" + name
                run(url, roster, args.rows, "PostgreSQL")
            finally:
                asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
