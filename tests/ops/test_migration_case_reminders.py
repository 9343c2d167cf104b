"""Migration 0011: case notices and alerts still pending as ``reminders`` rows (the mechanism before the outbox,
which nothing sends any more) become pending outbox rows for the same account, with the same key and due time,
so a deployment that upgrades tells everyone it still owed a word. Rows already sent, other kinds, and rows
whose account or case is gone are left alone (or closed as gone)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from db.migrate import upgrade
from tests.ops.test_migration_upgrade import _run, _value, baseline_url  # noqa: F401  (baseline_url: a fixture)

DUE = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 WITA: the end of the quiet hours


def _fill_0010(conn: sa.Connection) -> None:
    """One row of every table (sample values), then two cases, two accounts and the reminders under test."""
    meta = sa.MetaData()
    meta.reflect(conn)
    filled: set[str] = set()
    for table in meta.sorted_tables:
        if table.name in ("alembic_version", "outbox"):  # outbox: its ids stay the sequence's (PostgreSQL)
            continue
        conn.execute(table.insert().values({c.name: _value(table, c, 1, filled) for c in table.columns}))
        filled.add(table.name)
    accounts, cases, reminders = meta.tables["telegram_accounts"], meta.tables["cases"], meta.tables["reminders"]

    def copy(table: sa.Table, **values: Any) -> None:
        row = dict(conn.execute(sa.select(table).where(table.c.id == 1)).mappings().one())
        conn.execute(table.insert().values(row | values))

    copy(accounts, id=2, telegram_user_id=5002, chat_id=5002, recipient_id=None, worker_id=None, staff_id=None)
    copy(cases, id=2, number="UEP-2026-00002", urgency="high", state="new")
    conn.execute(cases.update().where(cases.c.id == 1).values(urgency="normal", state="taken"))

    def reminder(rid: int, kind: str, key: str, status: str, payload: dict[str, Any] | None, **extra: Any) -> None:
        conn.execute(reminders.insert().values(
            id=rid, dedupe_key=key, kind=kind, recipient_id=None, checkin_due_id=None, step=0, due_at=DUE,
            status=status, claimed_until=None, sent_at=None, attempts=extra.get("attempts", 0), error=None,
            payload=payload))

    reminder(10, "case_notice", "case:1:e7:r", "pending", {"case_id": 1, "account_id": 1, "state": "taken",
                                                           "event_id": 7}, attempts=2)
    reminder(11, "case_alert", "case:2:e8:new:a2", "pending", {"case_id": 2, "account_id": 2, "what": "new",
                                                               "event_id": 8})
    reminder(12, "case_alert", "case:1:e9:remind:a2", "sent", {"case_id": 1, "account_id": 2, "what": "remind",
                                                                "event_id": 9})
    reminder(13, "case_alert", "case:2:e10:new:a99", "pending", {"case_id": 2, "account_id": 99, "what": "new",
                                                                 "event_id": 10})
    reminder(14, "checkin_reminder", "checkin:1:1:0", "pending", None)


def _read(conn: sa.Connection) -> tuple[list[dict[str, Any]], dict[int, tuple[str, str | None]]]:
    meta = sa.MetaData()
    meta.reflect(conn, only=["outbox", "reminders"])
    outbox, reminders = meta.tables["outbox"], meta.tables["reminders"]
    rows = [dict(r) for r in conn.execute(
        sa.select(outbox).where(outbox.c.kind.in_(["case_notice", "case_alert"])).order_by(outbox.c.id)).mappings()]
    states = {r.id: (r.status, r.error) for r in conn.execute(sa.select(reminders.c.id, reminders.c.status,
                                                                        reminders.c.error))}
    return rows, states


def test_pending_case_reminders_move_into_the_outbox(baseline_url: str) -> None:  # noqa: F811
    upgrade(baseline_url, "0010")
    asyncio.run(_run(_fill_0010, baseline_url))
    upgrade(baseline_url)
    rows, states = asyncio.run(_run(_read, baseline_url))

    assert [(r["kind"], r["account_id"], r["chat_id"], r["dedupe_key"], r["priority"], r["status"]) for r in rows] == [
        ("case_notice", 1, _chat_of_account_1(baseline_url), "case:1:e7:r", 1, "pending"),
        ("case_alert", 2, 5002, "case:2:e8:new:a2", 0, "pending"),  # an urgent case: priority URGENT
    ]
    notice, alert = rows
    assert notice["payload"] == {"case_id": 1, "state": "taken", "event_id": 7}  # what its refresher checks
    assert alert["payload"]["case_id"] == 2 and alert["payload"]["what"] == "new"
    assert _utc(notice["due_at"]) == DUE and notice["attempts"] == 2 and alert["attempts"] == 0
    assert notice["text"] == "" and notice["claimed_until"] is None  # the refresher writes the words when sent
    assert notice["reply_markup"] is None and notice["media"] is None and notice["error"] is None
    assert states[10][0] == states[11][0] == "skipped" and "outbox" in (states[10][1] or "")
    assert states[12] == ("sent", None)  # already told: not again
    assert states[13] == ("skipped", "gone (migration 0011)")  # its account no longer exists
    assert states[14] == ("pending", None)  # check-in reminders are the scan's, untouched


def _chat_of_account_1(url: str) -> int:
    def read(conn: sa.Connection) -> int:
        return conn.execute(sa.text("SELECT chat_id FROM telegram_accounts WHERE id = 1")).scalar_one()

    return asyncio.run(_run(read, url))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
