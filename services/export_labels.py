"""Headers and value labels of the exports (services/exports.py): Indonesian by default, English on request.

The Indonesian headers are those of the roster file (``nama``, ``tanggal_lahir``, ``no_hp`` …) where a
column matches one, so an office reads them as it reads its own lists. Coded values (case kinds, states,
urgencies, business types and statuses, sex, sales brackets, pause reasons) are written as the words the bot
shows, from the same catalogs, never as codes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from bot.i18n import N_
from db.enums import BusinessStatus, CaseKind, CaseState, OnboardingState, Urgency
from services.checkins import REASON_LABELS, SALES_LABELS
from services.i18n_labels import (
    BUSINESS_STATUS_LABELS,
    CASE_KIND_LABELS,
    CASE_STATE_LABELS,
    ONBOARDING_LABELS,
    URGENCY_LABELS,
)

HEADER_LABELS = {
    "id": "id", "nik": "nik", "name": "nama", "sex": "jenis_kelamin", "birth_date": "tanggal_lahir",
    "phone": "no_hp", "address": "alamat", "desa": "desa", "kecamatan": "kecamatan", "kabupaten": "kabupaten",
    "dtks_id": "id_dtks", "pkh": "pkh", "business_type": "jenis_usaha", "aid_value": "nilai_bantuan",
    "aid_date": "tanggal_bantuan", "onboarding_state": "tahap_pendaftaran", "business_status": "status_usaha",
    "business_status_since_wita": "status_usaha_sejak_wita", "joined_at_wita": "bergabung_wita",
    "created_at_wita": "dibuat_wita", "tksk": "tksk", "submitted_at_wita": "dikirim_wita",
    "recipient_id": "id_penerima", "period_no": "periode_ke", "due_at_wita": "jatuh_tempo_wita",
    "status": "status_usaha", "days_open": "hari_buka", "sales_bracket": "penjualan_seminggu",
    "reason": "alasan", "note": "catatan", "latitude": "lintang", "longitude": "bujur",
    "is_extra": "laporan_tambahan", "reuse_flagged": "foto_dipakai_ulang",
    "assisted_by_visit": "lewat_kunjungan", "number": "nomor_kasus",
    "kind": "jenis_kendala", "urgency": "tingkat_mendesak", "state": "status_kasus", "description": "uraian",
    "handled_by": "ditangani_oleh", "overdue": "terlambat", "take_due_at_wita": "batas_diambil_wita",
    "taken_at_wita": "diambil_wita", "resolve_due_at_wita": "batas_selesai_wita",
    "resolved_at_wita": "selesai_wita", "closed_at_wita": "ditutup_wita", "resolution": "penyelesaian",
}

SEX_LABELS = {"L": N_("Male"), "P": N_("Female")}
YES, NO = N_("Yes"), N_("No")
_EXTRA_ONBOARDING = {OnboardingState.DECLINED: N_("Declined consent")}

_FAMILIES: dict[str, dict[Any, str]] = {
    "case_kind": dict(CASE_KIND_LABELS),
    "case_state": dict(CASE_STATE_LABELS),
    "urgency": dict(URGENCY_LABELS),
    "business_status": dict(BUSINESS_STATUS_LABELS),
    "onboarding_state": {**ONBOARDING_LABELS, **_EXTRA_ONBOARDING},
    "sales_bracket": dict(SALES_LABELS),
    "reason": dict(REASON_LABELS),
    "sex": dict(SEX_LABELS),
}
_ENUMS = {"case_kind": CaseKind, "case_state": CaseState, "urgency": Urgency, "business_status": BusinessStatus,
          "onboarding_state": OnboardingState}


@lru_cache(maxsize=4)
def _gettext(lang: str) -> Callable[[str], str]:
    from services.reports.summary import translator

    return translator(lang)


def yes_no(lang: str) -> tuple[str, str]:
    gettext = _gettext(lang)
    return gettext(YES), gettext(NO)


def value_labeller(family: str, lang: str, settings: Any) -> Callable[[Any], str] | None:
    """A function from a stored code to its label in ``lang``; None for a column that holds no codes. An
    unknown code is written as it is (a value from an older release is still shown, not dropped)."""
    if family == "business_type":
        def business(code: Any) -> str:
            bt = settings.program.business_types.get(code)
            return str(code) if bt is None else (bt.label_en if lang == "en" else bt.label_id)

        return business
    labels = _FAMILIES.get(family)
    if labels is None:
        return None
    gettext = _gettext(lang)
    enum = _ENUMS.get(family)
    by_code = {(k.value if enum is not None else k): gettext(v) for k, v in labels.items()}
    return lambda code: by_code.get(code, str(code))
