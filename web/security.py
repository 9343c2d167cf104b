"""What every desk request passes: security headers, the session cookie, the CSRF check and sign-in limits.

- Content-Security-Policy without inline script: the only script is ``/static/desk.js``.
- A session is a random cookie token (HttpOnly, SameSite=Lax, Secure over HTTPS); every POST carries the
  session's CSRF token in a form field, compared in constant time.
- Sign-in attempts are counted per client address in a sliding minute.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web

COOKIE = "uep_desk"
CSP = (
    "default-src 'self'; script-src 'self'{widget_script}; style-src 'self'; img-src 'self' data:{tiles}; "
    "media-src 'self'; connect-src 'self'; frame-src {widget_frame}; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def security_headers(
    tile_origin: str = "", *, login_widget: bool = False
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Headers on every answer. Telegram's Login Widget (a script and a frame from Telegram) is allowed only
    when the desk offers it."""
    csp = CSP.format(
        tiles=f" {tile_origin}" if tile_origin else "",
        widget_script=" https://telegram.org" if login_widget else "",
        widget_frame="https://oauth.telegram.org" if login_widget else "'none'",
    )

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.content_type == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware


class RateLimiter:
    """At most ``limit`` events per key in any ``window`` seconds (in this process)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        events = self._events.setdefault(key, deque())
        while events and now - events[0] > self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:  # forget idle addresses
            for k in [k for k, v in self._events.items() if not v or now - v[-1] > self.window]:
                del self._events[k]
        return True


def client_address(request: web.Request) -> str:
    return request.remote or "?"


def set_session_cookie(response: web.StreamResponse, token: str, max_age: int, *, secure: bool) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="Lax", path="/", secure=secure)


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
