"""Signing in to the web desk without passwords.

A staff member (or a TKSK/PSM, read-only) sends ``/web`` to the bot and gets a one-time link: valid
``web.login_link_minutes``, single use, bound to their account. Opening it and pressing "Masuk" starts a
session: a random cookie token (only its SHA-256 is stored) with its own CSRF token, ending after
``web.session_hours`` or at sign-out. Telegram's Login Widget is the other door when ``web.public_url`` is set:
its hash is checked with the bot token as Telegram documents.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import Role
from db.models import TelegramAccount, WebLoginLink, WebSession
from services.audit import audit
from services.clock import FrozenClock
from services.crypto import new_token, token_digest
from services.identity import role_of

DESK_ROLES = frozenset({Role.ADMIN, Role.CASEWORKER, Role.TKSK, Role.PSM})


class SignInRefused(StrEnum):
    UNKNOWN = "unknown"        # no such link (mistyped or forged)
    EXPIRED = "expired"
    USED = "used"
    NOT_ALLOWED = "not_allowed"  # the account is no longer staff or a field worker
    BAD_SIGNATURE = "bad_signature"  # a Login Widget answer that Telegram did not sign


class SignInError(Exception):
    def __init__(self, reason: SignInRefused) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  # for the cookie; never stored
    session: WebSession


def may_use_desk(account: TelegramAccount | None) -> bool:
    role = role_of(account)
    if role not in DESK_ROLES or account is None:
        return False
    if role.is_staff:
        return account.staff is not None and account.staff.active
    return account.worker is not None and account.worker.active


async def issue_link(session: AsyncSession, account: TelegramAccount, *, now: datetime, settings: Settings) -> str:
    """A new one-time sign-in token for ``account`` (the caller builds the URL). Refuses non-desk roles."""
    if not may_use_desk(account):
        raise SignInError(SignInRefused.NOT_ALLOWED)
    token = new_token(24)
    session.add(WebLoginLink(
        token_hash=token_digest(token), account_id=account.id, created_at=now,
        expires_at=now + timedelta(minutes=settings.web.login_link_minutes),
    ))
    audit(session, FrozenClock(now), actor=_label(account), actor_account_id=account.id, action="web.link_issued")
    await session.flush()
    return token


async def link_status(session: AsyncSession, token: str, *, now: datetime) -> SignInRefused | None:
    """None when the link can still be used (the page shows "Masuk"), else why not. Changes nothing."""
    link = await session.scalar(select(WebLoginLink).where(WebLoginLink.token_hash == token_digest(token)))
    if link is None:
        return SignInRefused.UNKNOWN
    if link.used_at is not None:
        return SignInRefused.USED
    if link.expires_at <= now:
        return SignInRefused.EXPIRED
    return None


async def redeem_link(
    session: AsyncSession, token: str, *, now: datetime, settings: Settings, user_agent: str = ""
) -> NewSession:
    """Use the link once and start a session. The link is marked used by a conditional UPDATE, so two tabs
    pressing "Masuk" at the same moment get one session, not two."""
    link = await session.scalar(select(WebLoginLink).where(WebLoginLink.token_hash == token_digest(token)))
    if link is None:
        raise SignInError(SignInRefused.UNKNOWN)
    if link.used_at is not None:
        raise SignInError(SignInRefused.USED)
    if link.expires_at <= now:
        raise SignInError(SignInRefused.EXPIRED)
    claimed = await session.execute(
        update(WebLoginLink).where(WebLoginLink.id == link.id, WebLoginLink.used_at.is_(None)).values(used_at=now)
    )
    if claimed.rowcount != 1:
        raise SignInError(SignInRefused.USED)
    account = await session.get(TelegramAccount, link.account_id)
    if not may_use_desk(account):
        raise SignInError(SignInRefused.NOT_ALLOWED)
    assert account is not None
    return await _start_session(session, account, now=now, settings=settings, user_agent=user_agent, via="link")


def verify_login_widget(data: dict[str, str], *, bot_token: str, now: datetime, max_age_seconds: int = 86400) -> int:
    """The Telegram user id of a Login Widget answer, after checking its hash (HMAC-SHA-256 keyed with the
    SHA-256 of the bot token over the sorted ``key=value`` lines) and its age. Raises SignInError."""
    fields = {k: v for k, v in data.items() if k != "hash"}
    given = data.get("hash", "")
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hashlib.sha256(bot_token.encode()).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(expected, given):
        raise SignInError(SignInRefused.BAD_SIGNATURE)
    try:
        auth_date = int(fields["auth_date"])
        user_id = int(fields["id"])
    except (KeyError, ValueError):
        raise SignInError(SignInRefused.BAD_SIGNATURE) from None
    if now.timestamp() - auth_date > max_age_seconds:
        raise SignInError(SignInRefused.EXPIRED)
    return user_id


async def sign_in_with_widget(
    session: AsyncSession, data: dict[str, str], *, now: datetime, settings: Settings, user_agent: str = ""
) -> NewSession:
    user_id = verify_login_widget(data, bot_token=settings.telegram.token, now=now)
    account = await session.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == user_id))
    if not may_use_desk(account):
        raise SignInError(SignInRefused.NOT_ALLOWED)
    assert account is not None
    return await _start_session(session, account, now=now, settings=settings, user_agent=user_agent, via="telegram")


async def _start_session(
    session: AsyncSession, account: TelegramAccount, *, now: datetime, settings: Settings, user_agent: str, via: str
) -> NewSession:
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=token_digest(token), csrf_token=secrets.token_urlsafe(32), account_id=account.id,
        created_at=now, expires_at=now + timedelta(hours=settings.web.session_hours), last_seen_at=now,
        user_agent=user_agent[:200], via=via,
    )
    session.add(row)
    audit(session, FrozenClock(now), actor=_label(account), actor_account_id=account.id, action="web.sign_in",
          details={"via": via})
    await session.flush()
    return NewSession(token, row)


async def session_for(session: AsyncSession, token: str, *, now: datetime) -> tuple[WebSession, TelegramAccount] | None:
    """The live session behind a cookie and its account, or None (unknown, expired, revoked, or the person no
    longer has desk rights). Touches ``last_seen_at`` at most once a minute to keep writes rare."""
    row = await session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    account = await session.get(TelegramAccount, row.account_id)
    if not may_use_desk(account):
        return None
    assert account is not None
    if (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
    return row, account


async def active_sessions(session: AsyncSession, account_id: int, *, now: datetime) -> list[WebSession]:
    rows = await session.scalars(
        select(WebSession)
        .where(WebSession.account_id == account_id, WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .order_by(WebSession.last_seen_at.desc())
    )
    return list(rows)


async def revoke(session: AsyncSession, account_id: int, session_id: int, *, now: datetime) -> bool:
    """End one of the account's own sessions (sign-out, or "end" in the session list)."""
    result = await session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.account_id == account_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def csrf_matches(row: WebSession, given: Any) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(row.csrf_token, given)


def _label(account: TelegramAccount) -> str:
    person = account.staff or account.worker
    name = person.name if person is not None else (account.first_name or "?")
    return f"{name} ({role_of(account).value})"
