"""Dinas Sosial's side on the command line: ``uep privacy requests`` (list, show, answer, apply, refuse),
``uep privacy export NIK`` (admins only, audited), ``uep privacy breach`` (record, notify, the clock), and
``uep audit`` with its filters."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.context import AppContext
from db.enums import PrivacyRequestKind, PrivacyRequestState
from db.models import (
    AuditLog,
    OutboxMessage,
    PrivacyBreach,
    PrivacyBreachPerson,
    PrivacyRequest,
    Recipient,
    TelegramAccount,
)
from sandbox.runner import SandboxRun
from services.privacy import messages
from services.privacy import requests as rules
from tests.cases.conftest import People, World
from tests.privacy.conftest import requests, tick, uep


async def _open(ctx: AppContext, world: World, kind: str, details: str | None = None,
                recipient: Recipient | None = None) -> PrivacyRequest:
    who = recipient or world.recipient
    async with ctx.session_factory.begin() as s:
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == who.id))
        return await rules.open_request(s, ctx.clock, ctx.settings, account=account, kind=kind, details=details)


async def test_requests_list_show_answer_refuse_apply(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    correction = await _open(ctx, world, PrivacyRequestKind.CORRECTION, "No HP saya 0812 9999 0000")
    deletion = await _open(ctx, world, PrivacyRequestKind.DELETION, recipient=world.other_recipient)
    restriction = await _open(ctx, world, PrivacyRequestKind.RESTRICTION)

    code, out = await uep("privacy", "requests")
    assert code == 0, out
    assert f"#{correction.id}\tcorrection\topen" in out and f"#{deletion.id}\tdeletion\topen" in out
    assert "(Palaran)" in out and "(Loa Janan)" in out

    code, out = await uep("privacy", "requests", "show", str(correction.id), "--actor", "Budi")
    assert code == 0, out
    assert "No HP saya 0812 9999 0000" in out and "Siti Aminah" in out

    code, out = await uep("privacy", "requests", "apply", str(correction.id), "--actor", "Budi",
                          "--set", "phone=0812-9999-0000")
    assert code == 0, out
    assert "applied; changed: phone; the person is told in the bot" in out
    async with ctx.session_factory() as s:
        assert (await s.get(Recipient, world.recipient.id)).phone == "+6281299990000"

    code, out = await uep("privacy", "requests", "apply", str(correction.id), "--actor", "Budi",
                          "--set", "phone=0812")
    assert code == 1 and "closed (it is applied)" in out

    code, out = await uep("privacy", "requests", "refuse", str(deletion.id), "--actor", "Dewi",
                          "--reason", "Usaha Anda masih dipantau sampai Desember; data dihapus setelah itu.")
    assert code == 0, out
    code, out = await uep("privacy", "requests", "answer", str(restriction.id), "--actor", "Budi", "--text",
                          "Pengingat sudah kami kurangi menjadi sebulan sekali.")
    assert code == 0, out
    code, out = await uep("privacy", "requests", "answer", str(restriction.id), "--actor", "Nobody", "--text", "x")
    assert code == 2 and "no active staff member named 'Nobody'" in out

    states = {r.id: r.state for r in await requests(ctx)}
    assert states == {correction.id: PrivacyRequestState.APPLIED, deletion.id: PrivacyRequestState.REFUSED,
                      restriction.id: PrivacyRequestState.ANSWERED}
    await tick(sandbox)
    await people.siti.wait_for("data Anda sudah diperbaiki")
    refused = await people.rahma.wait_for("tidak dilaksanakan")
    assert "masih dipantau sampai Desember" in refused.text
    await people.siti.wait_for("sebulan sekali")
    code, out = await uep("privacy", "requests")
    assert "no requests open" in out
    code, out = await uep("privacy", "requests", "--all")
    assert out.count("\n") == 3

    code, out = await uep("audit", "--kind", "privacy")
    assert code == 0 and "privacy.request.apply" in out and "privacy.request.view" in out
    code, out = await uep("audit", "--kind", "corrections", "--actor", "budi")
    assert "recipient.corrected" in out and f"recipient:{world.recipient.id}" in out and "+62812" not in out


async def test_export_is_for_admins_and_audited(ctx: AppContext, world: World, tmp_path: Path) -> None:
    async with ctx.session_factory() as s:
        nik = ctx.cipher.decrypt((await s.get(Recipient, world.recipient.id)).nik_encrypted)
    out_file = tmp_path / "siti.json"
    code, out = await uep("privacy", "export", nik, "--actor", "Budi", "--out", str(out_file))
    assert code == 1 and "only by an active admin" in out and not out_file.exists()
    code, out = await uep("privacy", "export", "1234", "--actor", "Admin Dissos", "--out", str(out_file))
    assert code == 1 and "NIK harus 16 digit" in out
    code, out = await uep("privacy", "export", nik, "--actor", "Admin Dissos", "--out", str(out_file))
    assert code == 0, out
    data = json.loads(out_file.read_text())
    assert data["profile"]["nik"] == nik and data["profile"]["name"] == "Siti Aminah"
    assert {"consent", "checkins", "photos", "cases", "messages_sent", "privacy_requests"} <= set(data)
    code, out = await uep("audit", "--kind", "full-nik")
    assert code == 0 and "privacy.export" in out and "Admin Dissos (admin)" in out
    assert nik not in out, "the audit log names the recipient by id, never by NIK"
    code, out = await uep("audit", "--kind", "exports", "--target", f"recipient:{world.other_recipient.id}")
    assert "no entries" in out
    code, out = await uep("audit", "--kind", "nonsense")
    assert code == 2 and "unknown 'nonsense'" in out


async def test_audit_filters_by_kind_and_time(ctx: AppContext, world: World) -> None:
    from services.audit import audit

    async with ctx.session_factory.begin() as s:
        audit(s, ctx.clock, actor="account:5", action="nik.view", target="recipients")
        audit(s, ctx.clock, actor="Budi (caseworker)", action="case.phone_viewed", target="case:3")
        audit(s, ctx.clock, actor="account:9", action="staff.linked", target="staff:2")
        audit(s, ctx.clock, actor="cli", action="export", target="checkins")
    for kind, present, absent in (("full-nik", "nik.view", "case.phone_viewed"),
                                  ("phone", "case.phone_viewed", "nik.view"),
                                  ("sign-ins", "staff.linked", "export"),
                                  ("exports", "\texport\t", "staff.linked")):
        code, out = await uep("audit", "--kind", kind)
        assert code == 0 and present in out and absent not in out, (kind, out)
    code, out = await uep("audit", "--since", "2026-03-02T10:00")  # T0 is 09:00 WITA
    assert "no entries" in out
    code, out = await uep("audit", "--until", "2026-03-02T10:00", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert {entry["action"] for entry in lines} >= {"nik.view", "case.phone_viewed", "staff.linked", "export"}


async def test_breach_record_notify_in_each_language_and_the_clock(
    sandbox: SandboxRun, people: People, world: World, tmp_path: Path
) -> None:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        account = await s.scalar(select(TelegramAccount).where(
            TelegramAccount.recipient_id == world.other_recipient.id))
        account.language = "en"
    code, out = await uep("privacy", "breach", "record", "--actor", "Admin Dissos", "--what",
                          "A roster spreadsheet was e-mailed to a wrong address.", "--discovered",
                          "2026-03-02T08:30", "--data", "names, phone numbers", "--measures",
                          "The receiver deleted it and confirmed in writing.", "--all")
    assert code == 0, out
    async with ctx.session_factory() as s:
        breach = await s.scalar(select(PrivacyBreach))
        affected = set(await s.scalars(select(PrivacyBreachPerson.recipient_id)))
    assert breach.affected_count == 2 and affected == {world.recipient.id, world.other_recipient.id}
    assert breach.notify_due_at == breach.discovered_at + timedelta(hours=72)
    assert "notify them and the authority by 05-03-2026 08:30" in out

    code, out = await uep("privacy", "breach", "record", "--actor", "Admin Dissos", "--what", "x",
                          "--discovered", "2026-03-02T08:30")
    assert code == 1 and "selects nobody" in out

    # The clock: the admin is reminded 24 hours before the deadline, then told it is late.
    start = breach.discovered_at
    handled = await tick(sandbox, start + timedelta(hours=48))
    assert handled["privacy_deadlines"] == 1
    await people.admin.wait_for("Insiden kebocoran #1: beri tahu paling lambat")
    assert not any("Insiden" in m.content for m in people.budi.messages), "admins only"

    letter = tmp_path / "lpdp.txt"
    code, out = await uep("privacy", "breach", "notify", str(breach.id), "--actor", "Admin Dissos",
                          "--authority-out", str(letter))
    assert code == 0, out
    assert "2 notices queued" in out and "0 affected people have no linked account" in out
    text = letter.read_text()
    assert "Kepada: Lembaga Pelindungan Data Pribadi" in text and "Jumlah subjek data terdampak: 2" in text
    assert "Batas pemberitahuan (3 x 24 jam): Kamis, 5 Mar 2026 08:30 WITA" in text
    await tick(sandbox, start + timedelta(hours=49))
    notice = await people.siti.wait_for("Pemberitahuan tentang data Anda")
    assert "e-mailed to a wrong address" in notice.text and "ppdp@example.go.id" in notice.text
    english = await people.rahma.wait_for("Notice about your data")
    assert "Dinas Sosial never asks for money" in english.text
    # Notifying again queues nobody twice.
    code, out = await uep("privacy", "breach", "notify", str(breach.id), "--actor", "Admin Dissos")
    assert "0 notices queued" in out
    async with ctx.session_factory() as s:
        sent = list(await s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == messages.KIND, OutboxMessage.dedupe_key.like("pdp:breach1:notice:%"))))
    assert len(sent) == 2 and all(m.status == "sent" and m.priority == 0 for m in sent)

    # The authority has not been told yet: at the deadline the admin hears it is late.
    await tick(sandbox, start + timedelta(hours=72))
    await people.admin.wait_for("sudah lewat")
    code, out = await uep("privacy", "breach", "notify", str(breach.id), "--actor", "Admin Dissos",
                          "--authority-sent")
    assert "authority notice recorded as sent" in out
    code, out = await uep("privacy", "breach", "list")
    assert "🚩" not in out and "affected 2" in out
    async with ctx.session_factory() as s:
        actions = list(await s.scalars(select(AuditLog.action).where(
            AuditLog.action.like("privacy.breach%")).order_by(AuditLog.id)))
    assert actions == ["privacy.breach.record", "privacy.breach.notify", "privacy.breach.notify",
                       "privacy.breach.notify", "privacy.breach.authority"]


async def test_retention_command_counts_then_applies(ctx: AppContext, world: World) -> None:
    code, out = await uep("privacy", "retention")
    assert code == 0 and "0 people's retention has ended" in out
    code, out = await uep("privacy", "retention", "--apply", env={"UEP_PRIVACY__PROGRAM_END": "2020-01-01",
                                                                  "UEP_PRIVACY__RETENTION_DAYS_AFTER_PROGRAM": "30"})
    assert code == 0 and "anonymised 2 people" in out
