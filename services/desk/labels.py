"""Labels the desk shows that the bot has no use for (onboarding states, consent decisions)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from db.enums import ConsentDecision, OnboardingState

ONBOARDING_LABELS = {
    OnboardingState.NOT_JOINED: N_("Not joined the bot yet"),
    OnboardingState.CONSENT: N_("Identified, consent pending"),
    OnboardingState.DECLINED: N_("Declined consent"),
    OnboardingState.PHONE: N_("Phone check pending"),
    OnboardingState.PROFILE: N_("Profile confirmation pending"),
    OnboardingState.AID_WAITING: N_("Waiting for the aid"),
    OnboardingState.AID_RECEIPT: N_("Aid receipt pending"),
    OnboardingState.ACTIVE: N_("Active"),
}

CONSENT_LABELS = {
    ConsentDecision.AGREE: N_("agreed"),
    ConsentDecision.DECLINE: N_("declined"),
    ConsentDecision.WITHDRAW: N_("withdrew"),
}


def onboarding_label(state: str) -> str:
    return _(ONBOARDING_LABELS[OnboardingState(state)]) if state in OnboardingState._value2member_map_ else state


def consent_label(decision: str) -> str:
    return _(CONSENT_LABELS[ConsentDecision(decision)]) if decision in ConsentDecision._value2member_map_ else decision
