"""Onboarding rules without the bot: parsing, lockout, invitations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.enums import InvitationKind
from db.models import IdentityAttempt, Invitation
from services.crypto import token_digest
from services.invitations import InvitationProblem, claim_invitation, create_invitation, invite_link, qr_png
from services.onboarding.identity import (
    IdentityOutcome,
    looks_like_identity,
    parse_birth_date,
    parse_identity,
    parse_nik,
    verify_identity,
)
from tests import factories

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize("text", [
    "17-05-1980", "17/05/1980", "17.05.1980", "17 05 1980", "17-5-1980", "1980-05-17", "1980/05/17", "17051980",
    "17 Mei 1980", "17 mei 1980", "17 May 1980", "17-Mei-1980",
])
def test_birth_date_forms(text: str) -> None:
    assert parse_birth_date(text, today=TODAY) == date(1980, 5, 17)


@pytest.mark.parametrize("text", ["31-02-1980", "17-13-1980", "1980", "kemarin", "17-05-80", "01-01-2030", ""])
def test_birth_date_refused(text: str) -> None:
    assert parse_birth_date(text, today=TODAY) is None


def test_nik_and_identity_parsing() -> None:
    assert parse_nik("6472 0101 0180 0001") == "6472010101800001"
    assert parse_nik("6472.0101.0180.0001") == "6472010101800001"
    assert parse_nik("647201010180000") is None and parse_nik("6472O10101800001") is None
    p = parse_identity("6472010101800001 17-05-1980", today=TODAY)
    assert (p.nik, p.birth_date) == ("6472010101800001", date(1980, 5, 17))
    p = parse_identity("6472 0101 0180 0001, 1980/05/17", today=TODAY)
    assert (p.nik, p.birth_date) == ("6472010101800001", date(1980, 5, 17))
    p = parse_identity("6472010101800001", today=TODAY)
    assert p.nik == "6472010101800001" and p.birth_date is None and not p.has_date_text
    p = parse_identity("6472010101800001 31-02-1980", today=TODAY)
    assert p.nik == "6472010101800001" and p.birth_date is None and p.has_date_text
    assert looks_like_identity("6472010101800001 17-05-1980")
    assert not looks_like_identity("Zk3_abcDEF-12345678901234")


async def test_lockout_after_five_wrong_pairs_and_same_answer(session, cipher, clock, settings) -> None:  # type: ignore[no-untyped-def]
    r = await factories.recipient(session, cipher, clock, settings, nik="6472010101800001")
    right_hash = cipher.blind_index("6472010101800001")
    unknown_hash = cipher.blind_index("6472999999999999")

    async def attempt(nik_hash: str, born: date):  # type: ignore[no-untyped-def]
        return await verify_identity(session, telegram_user_id=42, nik_hash=nik_hash, birth_date=born,
                                     settings=settings, now=clock.now())

    unknown = await attempt(unknown_hash, date(1980, 5, 17))
    wrong_date = await attempt(right_hash, date(1980, 5, 18))
    assert unknown.outcome is wrong_date.outcome is IdentityOutcome.MISMATCH
    assert unknown.recipient is None and wrong_date.recipient is None
    assert (unknown.attempts_left, wrong_date.attempts_left) == (4, 3)
    for _ in range(2):
        await attempt(unknown_hash, date(1980, 5, 17))
    fifth = await attempt(unknown_hash, date(1980, 5, 17))
    assert fifth.outcome is IdentityOutcome.LOCKED
    assert fifth.locked_until == clock.now() + timedelta(hours=24)
    # Even the right pair is refused during the lockout, and not recorded as an attempt.
    assert (await attempt(right_hash, date(1980, 5, 17))).outcome is IdentityOutcome.LOCKED
    assert len((await session.scalars(select(IdentityAttempt))).all()) == 5
    clock.set(clock.now() + timedelta(hours=24, seconds=1))
    ok = await attempt(right_hash, date(1980, 5, 17))
    assert ok.outcome is IdentityOutcome.MATCH and ok.recipient.id == r.id
    # Another Telegram account is not affected by the first one's lockout.
    assert (await verify_identity(session, telegram_user_id=43, nik_hash=right_hash, birth_date=date(1980, 5, 17),
                                  settings=settings, now=clock.now())).outcome is IdentityOutcome.MATCH


async def test_invitation_single_use_expiry_and_replacement(session, cipher, clock, settings) -> None:  # type: ignore[no-untyped-def]
    r = await factories.recipient(session, cipher, clock, settings)
    a1, a2, a3 = [await factories.link(session, clock, uid) for uid in (11, 12, 13)]
    first = await create_invitation(session, settings=settings, clock=clock, kind=InvitationKind.RECIPIENT,
                                    recipient=r)
    stored = await session.scalar(select(Invitation).where(Invitation.id == first.invitation.id))
    assert stored.token_hash == token_digest(first.token) and first.token not in stored.token_hash
    assert stored.expires_at == clock.now() + timedelta(hours=settings.onboarding.invitation_ttl_hours)
    assert invite_link("@uep_bot", first.token) == f"https://t.me/uep_bot?start={first.token}"
    assert qr_png(first.link("uep_bot"))[:4] == b"\x89PNG"
    # A second invitation retires the first.
    second = await create_invitation(session, settings=settings, clock=clock, kind=InvitationKind.RECIPIENT,
                                     recipient=r)
    assert (await claim_invitation(session, first.token, account_id=a1.id, now=clock.now())).problem is (
        InvitationProblem.EXPIRED)
    claimed = await claim_invitation(session, second.token, account_id=a1.id, now=clock.now())
    assert claimed.ok and claimed.invitation.used_by_account_id == a1.id
    assert (await claim_invitation(session, second.token, account_id=a1.id, now=clock.now())).ok  # same account: resume
    assert (await claim_invitation(session, second.token, account_id=a2.id, now=clock.now())).problem is (
        InvitationProblem.USED)
    assert (await claim_invitation(session, "x" * 24, account_id=a1.id, now=clock.now())).problem is (
        InvitationProblem.UNKNOWN)
    third = await create_invitation(session, settings=settings, clock=clock, kind=InvitationKind.RECIPIENT,
                                    recipient=r)
    later = clock.now() + timedelta(hours=settings.onboarding.invitation_ttl_hours)
    assert (await claim_invitation(session, third.token, account_id=a3.id, now=later)).problem is (
        InvitationProblem.EXPIRED)
