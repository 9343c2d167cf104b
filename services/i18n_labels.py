"""Human labels of stored codes (business types, statuses, case kinds), translated in the current locale."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from db.enums import BusinessStatus, CaseKind, CaseState, OnboardingState, Urgency

CASE_KIND_LABELS = {
    CaseKind.CAPITAL: N_("Capital"),
    CaseKind.MATERIALS: N_("Raw materials scarce or dear"),
    CaseKind.EQUIPMENT: N_("Equipment broken or lost"),
    CaseKind.NO_BUYERS: N_("No buyers"),
    CaseKind.HEALTH_FAMILY: N_("Illness or family"),
    CaseKind.PERMIT_PLACE: N_("Permit or place to sell"),
    CaseKind.DISASTER: N_("Disaster (flood, fire)"),
    CaseKind.OTHER: N_("Other problem"),
    CaseKind.AID_PROBLEM: N_("Aid not arrived or not as promised"),
    CaseKind.AID_INCOMPLETE: N_("Aid incomplete"),
    CaseKind.BUSINESS_STOPPED: N_("Business stopped"),
    CaseKind.PROFILE_CORRECTION: N_("Profile correction"),
    CaseKind.PHONE_MISMATCH: N_("Phone number to confirm"),
    CaseKind.ACCOUNT_CONFLICT: N_("Account already linked"),
    CaseKind.NIK_GUESSING: N_("Too many wrong NIK tries"),
}

CASE_STATE_LABELS = {
    CaseState.NEW: N_("New, waiting for your TKSK"),
    CaseState.TAKEN: N_("Being handled"),
    CaseState.VISIT_PLANNED: N_("Visit planned"),
    CaseState.WITH_DISSOS: N_("Passed to Dinas Sosial"),
    CaseState.RESOLVED: N_("Resolved"),
    CaseState.CLOSED: N_("Closed"),
    CaseState.REOPENED: N_("Reopened"),
}

ONBOARDING_LABELS = {
    OnboardingState.NOT_JOINED: N_("Not joined yet"),
    OnboardingState.CONSENT: N_("Consent pending"),
    OnboardingState.PHONE: N_("Phone check pending"),
    OnboardingState.PROFILE: N_("Profile check pending"),
    OnboardingState.AID_WAITING: N_("Waiting for aid"),
    OnboardingState.AID_RECEIPT: N_("Aid receipt pending"),
    OnboardingState.ACTIVE: N_("Active"),
}

URGENCY_LABELS = {Urgency.HIGH: N_("Urgent"), Urgency.NORMAL: N_("Normal"), Urgency.LOW: N_("Not urgent")}

BUSINESS_STATUS_LABELS = {
    BusinessStatus.UNKNOWN: N_("Unknown"),
    BusinessStatus.RUNNING: N_("Running"),
    BusinessStatus.PAUSED: N_("Paused"),
    BusinessStatus.STOPPED: N_("Stopped"),
    BusinessStatus.CHANGED: N_("Changed to another business"),
}


def case_kind_label(kind: str) -> str:
    return _(CASE_KIND_LABELS.get(CaseKind(kind), kind)) if kind in CaseKind._value2member_map_ else kind


def case_state_label(state: str) -> str:
    return _(CASE_STATE_LABELS[CaseState(state)]) if state in CaseState._value2member_map_ else state


def urgency_label(urgency: str) -> str:
    return _(URGENCY_LABELS[Urgency(urgency)]) if urgency in Urgency._value2member_map_ else urgency


def business_status_label(status: str) -> str:
    return _(BUSINESS_STATUS_LABELS[BusinessStatus(status)]) if status in BusinessStatus._value2member_map_ else status


def business_type_label(code: str, settings, locale: str) -> str:  # type: ignore[no-untyped-def]
    """Business types are labelled in settings (label_id / label_en), not in the catalogs."""
    bt = settings.program.business_types.get(code)
    if bt is None:
        return code
    return bt.label_en if locale == "en" else bt.label_id
