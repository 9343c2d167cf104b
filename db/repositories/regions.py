"""Kabupaten/kota and kecamatan, found by the names people actually type.

Matching ignores case, repeated/odd spacing and, for a kabupaten, the ``Kota``/``Kabupaten``/``Kab.``
prefix: ``SAMARINDA`` finds ``Kota Samarinda`` and ``kab. paser`` finds ``Paser``. A kecamatan keeps its
words as they are (``Kota Bangun`` is a kecamatan of Kutai Kartanegara), only case and spacing are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Kabupaten, Kecamatan

_SPACES = re.compile(r"\s+")
_KAB_PREFIX = re.compile(r"^(kota|kabupaten|kab\.?)\s+")
_KEC_PREFIX = re.compile(r"^(kecamatan|kec\.)\s*")


def name_key(name: str) -> str:
    """Case- and spacing-insensitive form of a name (``'  batu  SOPANG '`` → ``'batu sopang'``)."""
    return _SPACES.sub(" ", name.replace("\u00a0", " ")).strip().casefold()


def kabupaten_keys(name: str) -> tuple[str, str]:
    """The full key and the key without a ``Kota``/``Kabupaten`` prefix (the same when there is none)."""
    full = name_key(name)
    return full, _KAB_PREFIX.sub("", full)


def kecamatan_key(name: str) -> str:
    """Key of a kecamatan name; a typed ``Kec.``/``Kecamatan`` prefix is dropped."""
    key = name_key(name)
    stripped = _KEC_PREFIX.sub("", key)
    return stripped or key


@dataclass(frozen=True, slots=True)
class RegionRef:
    id: int
    name: str


@dataclass
class RegionIndex:
    """All kabupaten and kecamatan in memory (about a hundred rows), for matching thousands of rows fast."""

    _kab_by_full: dict[str, RegionRef] = field(default_factory=dict)
    _kab_by_short: dict[str, list[RegionRef]] = field(default_factory=dict)
    _kec: dict[tuple[int, str], RegionRef] = field(default_factory=dict)
    _kec_anywhere: dict[str, list[str]] = field(default_factory=dict)
    _kab_names: dict[int, str] = field(default_factory=dict)

    def add_kabupaten(self, kab_id: int, name: str) -> None:
        ref = RegionRef(kab_id, name)
        full, short = kabupaten_keys(name)
        self._kab_by_full[full] = ref
        self._kab_by_short.setdefault(short, []).append(ref)
        self._kab_names[kab_id] = name

    def add_kecamatan(self, kec_id: int, name: str, kabupaten_id: int) -> None:
        key = kecamatan_key(name)
        self._kec[(kabupaten_id, key)] = RegionRef(kec_id, name)
        self._kec_anywhere.setdefault(key, []).append(self._kab_names.get(kabupaten_id, "?"))

    @property
    def empty(self) -> bool:
        return not self._kab_by_full

    def kabupaten(self, typed: str) -> RegionRef | list[RegionRef] | None:
        """The kabupaten meant by ``typed``; a list when the name without prefix fits several (ambiguous)."""
        full, short = kabupaten_keys(typed)
        if full in self._kab_by_full:
            return self._kab_by_full[full]
        candidates = self._kab_by_short.get(short) or self._kab_by_short.get(full) or []
        if len(candidates) == 1:
            return candidates[0]
        return candidates or None

    def kecamatan(self, kabupaten_id: int, typed: str) -> RegionRef | None:
        return self._kec.get((kabupaten_id, kecamatan_key(typed)))

    def kabupaten_having(self, typed_kecamatan: str) -> list[str]:
        """Names of the kabupaten that do have a kecamatan of this name (to explain a mismatch)."""
        return self._kec_anywhere.get(kecamatan_key(typed_kecamatan), [])


async def load_index(session: AsyncSession) -> RegionIndex:
    index = RegionIndex()
    for kab in (await session.scalars(select(Kabupaten).order_by(Kabupaten.id))).all():
        index.add_kabupaten(kab.id, kab.name)
    rows = await session.execute(
        select(Kecamatan.id, Kecamatan.name, Kecamatan.kabupaten_id).order_by(Kecamatan.id)
    )
    for kec_id, name, kab_id in rows:
        index.add_kecamatan(kec_id, name, kab_id)
    return index


async def count_kabupaten(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Kabupaten)) or 0)


async def list_kabupaten(session: AsyncSession) -> Sequence[Kabupaten]:
    return (await session.scalars(select(Kabupaten).order_by(Kabupaten.code))).all()


async def find_kabupaten(session: AsyncSession, name: str) -> Kabupaten | None:
    """The kabupaten/kota called ``name`` (case, spacing and ``Kota`` prefix ignored).

    None when there is none, or when the name without prefix fits several."""
    full, short = kabupaten_keys(name)
    all_kab = await list_kabupaten(session)
    exact = [k for k in all_kab if kabupaten_keys(k.name)[0] == full]
    if exact:
        return exact[0]
    loose = [k for k in all_kab if kabupaten_keys(k.name)[1] in (short, full)]
    return loose[0] if len(loose) == 1 else None


async def find_kecamatan(session: AsyncSession, kabupaten: Kabupaten | int, name: str) -> Kecamatan | None:
    """The kecamatan called ``name`` inside ``kabupaten`` (case and spacing ignored)."""
    kab_id = kabupaten if isinstance(kabupaten, int) else kabupaten.id
    key = kecamatan_key(name)
    rows = (await session.scalars(select(Kecamatan).where(Kecamatan.kabupaten_id == kab_id))).all()
    return next((k for k in rows if kecamatan_key(k.name) == key), None)


async def find_kecamatan_by_names(session: AsyncSession, kabupaten: str, kecamatan: str) -> Kecamatan | None:
    kab = await find_kabupaten(session, kabupaten)
    return None if kab is None else await find_kecamatan(session, kab, kecamatan)


async def list_kecamatan(session: AsyncSession, kabupaten_id: int | None = None) -> Sequence[Kecamatan]:
    stmt = select(Kecamatan).order_by(Kecamatan.code)
    if kabupaten_id is not None:
        stmt = stmt.where(Kecamatan.kabupaten_id == kabupaten_id)
    return (await session.scalars(stmt)).all()
