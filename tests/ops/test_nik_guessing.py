"""#24 item 10: wrong dates of birth against one NIK from many accounts count together. Past
``onboarding.max_nik_attempts_per_nik`` the NIK path is closed for that NIK (whatever date is typed, from any
account), its TKSK and Dinas Sosial are told by an urgent case, and the TKSK's invitation link still works."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from db.enums import CaseKind, StaffRole, Urgency
from db.models import Case, ConsentRecord, IdentityAttempt
from sandbox.runner import SandboxRun
from tests import factories
from tests.onboarding.helpers import NIK, invitation_link, make_recipient, make_tksk

CLOSED = "NIK ini dikunci"
NO_MATCH = "tidak cocok"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.throttling.rate = 1000
    return settings


async def test_guesses_spread_over_accounts_close_the_nik_and_alert_tksk_and_dinas_sosial(sandbox: SandboxRun) -> None:
    limit = sandbox.ctx.settings.onboarding.max_nik_attempts_per_nik
    assert limit < sandbox.ctx.settings.onboarding.max_nik_attempts * 8  # the attack of the report: 8 accounts
    r = await make_recipient(sandbox, nik=NIK)
    tksk = await make_tksk(sandbox, 720900)
    async with sandbox.ctx.session_factory.begin() as s:
        staff = await factories.staff(s, sandbox.ctx.clock, role=StaffRole.CASEWORKER)
        await factories.link(s, sandbox.ctx.clock, 720901, staff=staff)
    caseworker = sandbox.person(720901, "Dissos")

    # Fewer tries per account than the account lockout allows, spread over accounts: the attack that got through.
    guesses = [f"0{d}-01-1970" for d in range(1, 10)]
    for n in range(limit):
        guesser = sandbox.person(720001 + n, f"Tamu {n}")
        await guesser.command("start", f"{NIK} {guesses[n]}")
        await guesser.wait_for(CLOSED if n == limit - 1 else NO_MATCH)
    alert = await tksk.wait_for("Terlalu banyak percobaan NIK salah")
    assert "akun Telegram" in alert.text and NIK not in alert.text
    await caseworker.wait_for("Terlalu banyak percobaan NIK salah")

    # Closed for every account, even with the right date of birth, and the same answer as for an unknown NIK.
    late = sandbox.person(720100, "Benar")
    await late.command("start", f"{NIK} 17-05-1980")
    await late.wait_for(CLOSED)
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        cases = list(await s.scalars(select(Case).where(Case.kind == CaseKind.NIK_GUESSING)))
        assert len(cases) == 1 and cases[0].recipient_id == r.id and cases[0].urgency == Urgency.HIGH
        assert await s.scalar(select(func.count()).select_from(ConsentRecord)) == 0
        hashes = set(await s.scalars(select(IdentityAttempt.nik_hash)))
        assert hashes == {sandbox.ctx.cipher.blind_index(NIK)}  # the keyed hash only, never the NIK

    # The invitation link from the TKSK is the way in.
    link = await invitation_link(sandbox, r.id)
    await late.command("start", link.rsplit("start=", 1)[1])
    await late.wait_for("Apakah Anda setuju?")


async def test_an_unknown_nik_closes_with_the_same_words(sandbox: SandboxRun) -> None:
    limit = sandbox.ctx.settings.onboarding.max_nik_attempts_per_nik
    for n in range(limit + 1):
        guesser = sandbox.person(721001 + n, f"Tamu {n}")
        await guesser.command("start", f"6472999999999999 0{n % 9 + 1}-01-1970")
        await guesser.wait_for(CLOSED if n >= limit - 1 else NO_MATCH)
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 0  # nobody to tell: not in the roster
