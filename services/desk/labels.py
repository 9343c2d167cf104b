"""Labels the desk shows beside the shared ones of ``services.i18n_labels``: every onboarding state (the
shared map leaves out "declined", which no broadcast ever targets) and consent decisions."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from db.enums import BroadcastStatus, ConsentDecision, OnboardingState
from services.i18n_labels import ONBOARDING_LABELS

DECLINED = N_("Declined consent")

CONSENT_LABELS = {
    ConsentDecision.AGREE: N_("agreed"),
    ConsentDecision.DECLINE: N_("declined"),
    ConsentDecision.WITHDRAW: N_("withdrew"),
}


BROADCAST_STATUS_LABELS = {
    BroadcastStatus.DRAFT: N_("being prepared"),
    BroadcastStatus.SCHEDULED: N_("planned"),
    BroadcastStatus.SENDING: N_("sending"),
    BroadcastStatus.DONE: N_("sent"),
    BroadcastStatus.CANCELLED: N_("cancelled"),
}


def broadcast_status_label(status: str) -> str:
    known = status in BroadcastStatus._value2member_map_
    return _(BROADCAST_STATUS_LABELS[BroadcastStatus(status)]) if known else status


def onboarding_label(state: str) -> str:
    if state == OnboardingState.DECLINED:
        return _(DECLINED)
    label = ONBOARDING_LABELS.get(OnboardingState(state)) if state in OnboardingState._value2member_map_ else None
    return _(label) if label else state


def consent_label(decision: str) -> str:
    return _(CONSENT_LABELS[ConsentDecision(decision)]) if decision in ConsentDecision._value2member_map_ else decision
