"""The HTTP face of the emulator: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Why: the bot talks to Telegram only over HTTP, so the emulator must accept exactly what Telegram
accepts on the wire — GET or POST, query string, JSON, urlencoded or multipart bodies, files as
multipart parts referenced directly or via ``attach://name`` — and answer with Telegram's JSON
envelope and HTTP status.  Every call goes through one pipeline:

    token → method lookup → spec validation → injected faults → handler (limits, state, flood)

and every refusal a correct bot would never provoke is written to the violation log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .activity import Activity
from .errors import ApiError, not_found, unauthorized
from .faults import FaultInjector, HtmlErrorPage
from .methods import BotApiMethods
from .spec import BotApiSpec, CheckContext, MethodSpec, SpecViolation, TypeRef, UploadedFile, resolve_attachment
from .violations import Violation, ViolationLog, summarize
from .world import BotState, World

log = logging.getLogger(__name__)

MAX_BODY = 60 * 1024 * 1024  # Telegram accepts uploads up to 50 MB


@dataclass
class Stats:
    requests: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    errors_by_code: Counter[int] = field(default_factory=Counter)
    flood_429: int = 0
    faults_fired: int = 0
    started_at: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "by_method": dict(self.by_method),
                "errors_by_code": {str(k): v for k, v in self.errors_by_code.items()},
                "flood_429": self.flood_429, "faults_fired": self.faults_fired,
                "uptime": round(time.time() - self.started_at, 3)}


class ApiPipeline:
    """One Bot API call from raw params to result (or ApiError), shared by HTTP and webhook replies."""

    def __init__(
        self,
        world: World,
        spec: BotApiSpec,
        methods: BotApiMethods,
        faults: FaultInjector,
        violations: ViolationLog,
        activity: Activity,
        bot_for_token: Callable[[str], BotState | None],
    ) -> None:
        self.world = world
        self.spec = spec
        self.methods = methods
        self.faults = faults
        self.violations = violations
        self.activity = activity
        self.bot_for_token = bot_for_token
        self.stats = Stats()
        self.closing = asyncio.Event()  # set on shutdown: hanging faults end early
        self.self_check = False  # validate our own results against the spec (tests of the emulator)
        self.self_check_errors: list[str] = []
        self.rtt = 0.0  # seconds added to every answer (half on the way in, half on the way out): real latency

    async def call(self, token: str, method_name: str, params: dict[str, Any],
                   files: dict[str, UploadedFile] | None = None) -> Any:
        files = files or {}
        is_poll = method_name.lower() == "getupdates"
        if not is_poll:
            self.activity.begin()
        self.stats.requests += 1
        known = self.spec.method(method_name)
        self.stats.by_method[known.name if known else method_name] += 1
        try:
            if self.rtt > 0:
                await asyncio.sleep(self.rtt / 2)
            result = await self._call(token, method_name, params, files)
            if self.rtt > 0:
                await asyncio.sleep(self.rtt / 2)
            return result
        except ApiError as exc:
            self._record(token, method_name, params, exc)
            raise
        finally:
            if not is_poll:
                self.activity.end()

    async def _call(self, token: str, method_name: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        bot = self.bot_for_token(token)
        if bot is None:
            raise unauthorized()
        mspec = self.spec.method(method_name)
        if mspec is None:
            raise not_found()
        clean = self.spec.validate(mspec, params, files)
        if files:
            clean = {k: _resolve_nested_attachments(v, files) if isinstance(v, (dict, list)) else v
                     for k, v in clean.items()}
        fault = self.faults.take(mspec.name, clean.get("chat_id"), clean)
        if fault is not None:
            self.stats.faults_fired += 1
            err = fault.error()
            if fault.kind == "kill":
                pass  # below, once the request is carried out
            elif err is None:  # hang: keep the client waiting, then carry on as if nothing happened
                try:
                    await asyncio.wait_for(self.closing.wait(), fault.hang_seconds)
                except TimeoutError:
                    pass
            else:
                raise err
        handler = self.methods.handlers.get(mspec.name.lower())
        if handler is None:
            return True  # exists in the spec, validated, no semantics emulated
        result = await handler(bot, clean)
        if fault is not None and fault.kind == "kill" and fault.pid:
            import os
            import signal

            log.info("kill point: %s reached the emulator; killing process %s", mspec.name, fault.pid)
            os.kill(fault.pid, signal.SIGKILL)
        if self.self_check:
            self._check_result(mspec, result)
        return result

    def _check_result(self, mspec: MethodSpec, result: Any) -> None:
        """Emulator self-test: our answers must match the return types the spec promises."""
        alts = tuple(TypeRef("Boolean", 0) if t.name == "True" else t for t in mspec.returns)
        try:
            self.spec.check(result, alts, "", CheckContext({}))
        except SpecViolation as exc:
            self.self_check_errors.append(f"{mspec.name} returned a bad {exc.path or 'result'}: {exc.problem}")

    def _record(self, token: str, method: str, params: dict[str, Any], exc: ApiError) -> None:
        self.stats.errors_by_code[exc.error_code] += 1
        if exc.error_code == 429 and not exc.injected:
            self.stats.flood_429 += 1
        if exc.is_bot_mistake:
            self.violations.record(Violation(method, summarize(params), exc.description, exc.error_code, token))


def _resolve_nested_attachments(value: Any, files: dict[str, UploadedFile]) -> Any:
    """``attach://name`` strings inside JSON params (InputMedia.media, thumbnail) → uploads."""
    if isinstance(value, dict):
        return {k: _resolve_nested_attachments(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_nested_attachments(v, files) for v in value]
    return resolve_attachment(value, files)


# ============================================================================================ HTTP
def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(payload, ensure_ascii=False).encode(), status=status,
                        content_type="application/json")


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Query string + body (JSON, urlencoded or multipart) → (params, uploaded files by part name)."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    ctype = request.content_type
    if ctype == "application/json":
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
            params.update(body)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                upload = UploadedFile(key, value.filename or key, value.content_type or "", value.file.read())
                files[key] = upload
                params[key] = upload
            else:
                params[key] = value
    return params, files


class BotApiServer:
    """aiohttp routes for the Bot API and file downloads."""

    def __init__(self, pipeline: ApiPipeline) -> None:
        self.pipeline = pipeline

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", r"/bot{token}/{method}", self.handle_method)
        app.router.add_get(r"/file/bot{token}/{path:.+}", self.handle_file)

    async def handle_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params, files = await read_params(request)
        except ApiError as exc:
            self.pipeline._record(token, method, {}, exc)
            return _json_response(exc.to_json(), status=exc.error_code)
        try:
            result = await self.pipeline.call(token, method, params, files)
        except HtmlErrorPage as exc:
            return web.Response(text=exc.html, status=exc.error_code, content_type="text/html")
        except ApiError as exc:
            return _json_response(exc.to_json(), status=exc.error_code)
        except Exception:  # noqa: BLE001 - an emulator bug must look like a Telegram 500, not hang the bot
            log.exception("emulator failed on %s", method)
            return _json_response({"ok": False, "error_code": 500, "description": "Internal Server Error"}, 500)
        return _json_response({"ok": True, "result": result})

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        if self.pipeline.bot_for_token(request.match_info["token"]) is None:
            return _json_response(unauthorized().to_json(), 401)
        f = self.pipeline.world.files.by_path.get(request.match_info["path"])
        if f is None:
            return _json_response(not_found().to_json(), 404)
        return web.Response(body=f.data, content_type=f.mime_type or "application/octet-stream")
