"""Bot API error answers.

Telegram answers every failed call with ``{"ok": false, "error_code", "description"}`` and the same
HTTP status.  Handlers raise :class:`ApiError` deep inside validation or state checks; the HTTP layer
turns it into exactly that JSON, and the violation recorder decides whether it was the bot's fault.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer Telegram would give.  ``description`` is the full Telegram text."""

    def __init__(
        self,
        error_code: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        *,
        injected: bool = False,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters
        # True for faults injected by a test: they are never the bot's fault.
        self.injected = injected

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    @property
    def is_bot_mistake(self) -> bool:
        """Would a correct bot never get this?  400/401/404/409 are mistakes; 403/429/5xx are life."""
        return not self.injected and self.error_code in (400, 401, 404, 409, 413)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def conflict(detail: str) -> ApiError:
    return ApiError(409, f"Conflict: {detail}")


def too_many_requests(retry_after: int, *, injected: bool = False) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
        injected=injected,
    )


# Texts reused by several handlers, spelled exactly as Telegram spells them.
CHAT_NOT_FOUND = "chat not found"
MESSAGE_TEXT_EMPTY = "message text is empty"
MESSAGE_TO_EDIT_NOT_FOUND = "message to edit not found"
MESSAGE_TO_DELETE_NOT_FOUND = "message to delete not found"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
BOT_BLOCKED = "bot was blocked by the user"
USER_DEACTIVATED = "user is deactivated"
CANT_INITIATE = "bot can't initiate conversation with a user"
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_OTHER = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
