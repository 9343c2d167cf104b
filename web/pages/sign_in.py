"""Signing in: the link from ``/web`` (GET shows a button, POST uses the link, so a link preview cannot
spend it), Telegram's Login Widget when ``web.public_url`` is set, and signing out."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.i18n import N_
from services.desk.auth import SignInError, SignInRefused, link_status, redeem_link, revoke, sign_in_with_widget
from web.app import render
from web.forms import checked_form, viewer_of
from web.keys import BOT_USERNAME, CTX, DB, NOW, SIGN_IN_LIMIT, VIEWER, WEB_SESSION
from web.security import clear_session_cookie, client_address, set_session_cookie

routes = web.RouteTableDef()

_REFUSALS = {
    SignInRefused.UNKNOWN: (N_("This sign-in link is not valid. Send /web to the bot for a new one."), 404),
    SignInRefused.EXPIRED: (N_("This sign-in link has expired. Send /web to the bot for a new one."), 410),
    SignInRefused.USED: (N_("This sign-in link was already used. Send /web to the bot for a new one."), 410),
    SignInRefused.NOT_ALLOWED: (N_("This account may not use the desk."), 403),
    SignInRefused.BAD_SIGNATURE: (N_("Telegram could not confirm this sign-in. Please try again."), 403),
}


def _refused(request: web.Request, reason: SignInRefused) -> web.Response:
    message, status = _REFUSALS[reason]
    return render(request, "login.html", {"refusal": _(message), "token": None, "widget": None},
                  status=status)


def _widget(request: web.Request) -> dict[str, str] | None:
    settings = request.app[CTX].settings
    username = request.app.get(BOT_USERNAME)
    if not settings.web.public_url or not username:
        return None
    return {"username": username, "auth_url": settings.web.public_url + "/login/telegram"}


def _too_many(request: web.Request) -> web.Response | None:
    if request.app[SIGN_IN_LIMIT].allow(client_address(request)):
        return None
    return render(request, "login.html", {
        "refusal": _("Too many sign-in attempts. Please wait a minute and try again."),
        "token": None, "widget": None,
    }, status=429)


def _signed_in(request: web.Request, token: str) -> web.HTTPSeeOther:
    """The redirect into the desk, carrying the new session's cookie (raised by the caller)."""
    settings = request.app[CTX].settings
    redirect = web.HTTPSeeOther("/cases")
    secure = request.secure or settings.web.public_url.startswith("https://")
    set_session_cookie(redirect, token, int(settings.web.session_hours * 3600), secure=secure)
    return redirect


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    if request.get(VIEWER) is not None:
        raise web.HTTPSeeOther("/cases")
    return render(request, "login.html", {"refusal": None, "token": None, "widget": _widget(request)})


@routes.get("/login/telegram")
async def login_widget(request: web.Request) -> web.StreamResponse:
    if (limited := _too_many(request)) is not None:
        return limited
    ctx = request.app[CTX]
    try:
        new = await sign_in_with_widget(request[DB], dict(request.query), now=request[NOW],
                                        settings=ctx.settings, user_agent=request.headers.get("User-Agent", ""))
    except SignInError as exc:
        return _refused(request, exc.reason)
    raise _signed_in(request, new.token)


@routes.get("/login/{token}")
async def link_page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    reason = await link_status(request[DB], token, now=request[NOW])
    if reason is not None:
        return _refused(request, reason)
    return render(request, "login.html", {"refusal": None, "token": token, "widget": None})


@routes.post("/login/{token}")
async def use_link(request: web.Request) -> web.StreamResponse:
    if (limited := _too_many(request)) is not None:
        return limited
    ctx = request.app[CTX]
    try:
        new = await redeem_link(request[DB], request.match_info["token"], now=request[NOW],
                                settings=ctx.settings, user_agent=request.headers.get("User-Agent", ""))
    except SignInError as exc:
        return _refused(request, exc.reason)
    raise _signed_in(request, new.token)


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    viewer = viewer_of(request)
    await revoke(request[DB], viewer.account_id, request[WEB_SESSION].id, now=request[NOW])
    redirect = web.HTTPSeeOther("/login")
    clear_session_cookie(redirect)
    raise redirect
