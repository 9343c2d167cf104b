"""Broadcasts: history with delivery counts and the not-reached list, composing one with a live audience
count (now or scheduled), and cancelling a scheduled one. Staff only."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from multidict import MultiMapping
from sqlalchemy import select

from bot.i18n import N_
from db.enums import BusinessStatus, OnboardingState
from db.models import Kabupaten
from services.broadcast.audience import Audience, count_audience
from services.broadcast.limits import CAPTION_LIMIT, TEXT_LIMIT
from services.broadcast.photo import MAX_UPLOAD_BYTES
from services.desk.access import DeskForbidden
from services.desk.broadcasts import ComposeProblem, ComposeRefused, cancel, compose, detail, history
from services.i18n_labels import BUSINESS_STATUS_LABELS, ONBOARDING_LABELS
from web.app import render
from web.forms import checked_form, int_arg, viewer_of
from web.keys import CTX, DB, NOW

routes = web.RouteTableDef()

PROBLEMS = {
    ComposeProblem.NO_TEXT: N_("Please write the announcement in Indonesian."),
    ComposeProblem.TOO_LONG: N_("That is too long: at most {limit} characters."),
    ComposeProblem.NOBODY: N_("Choose who gets it: recipients, field workers or both."),
    ComposeProblem.PAST: N_("That time has passed. Choose a time later today or another day."),
    ComposeProblem.TOO_FAR: N_("An announcement can be planned at most 90 days ahead."),
    ComposeProblem.CAPTION_TOO_LONG: N_("With a photo the text is its caption: at most {caption} characters."),
    ComposeProblem.NOT_AN_IMAGE: N_("That file is not a picture. Choose a JPEG, PNG or WebP photo."),
    ComposeProblem.PHOTO_TOO_LARGE: N_("That photo is larger than 10 MB. Choose a smaller one."),
    ComposeProblem.PHOTO_SHAPE: N_("Telegram cannot send a picture of that size or shape. Choose another photo."),
}


def audience_of(values: MultiMapping[str], business_types: Collection[str]) -> Audience:
    """The audience chosen on the form; unknown values are dropped, never trusted."""
    return Audience(
        recipients="recipients" in values, workers="workers" in values,
        kabupaten_ids=[i for i in (int_arg(v) for v in values.getall("kab", [])) if i],
        business_types=[v for v in values.getall("type", []) if v in business_types],
        onboarding_states=[v for v in values.getall("onboarding", []) if v in OnboardingState._value2member_map_],
        business_statuses=[v for v in values.getall("status", []) if v in BusinessStatus._value2member_map_],
    )


def _at(value: str, request: web.Request) -> datetime | None:
    """``datetime-local`` input, read as WITA."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        return None
    tz = request.app[CTX].settings.program.tz
    return local.replace(tzinfo=tz) if local.tzinfo is None else local


async def _form_values(request: web.Request) -> dict[str, object]:
    kabupaten = list(await request[DB].scalars(select(Kabupaten).order_by(Kabupaten.name)))
    return {"kabupaten": kabupaten, "onboarding": list(ONBOARDING_LABELS.items()),
            "types": list(request.app[CTX].settings.program.business_types),
            "statuses": list(BUSINESS_STATUS_LABELS.items()), "limit": TEXT_LIMIT, "caption": CAPTION_LIMIT}


@routes.get("/broadcasts")
async def broadcast_list(request: web.Request) -> web.Response:
    viewer_of(request).require_staff()
    ctx = request.app[CTX]
    page = await history(request[DB], page=(int_arg(request.query.get("page"), 1) or 1) - 1,
                         page_size=ctx.settings.web.page_size)
    return render(request, "broadcasts.html", {"page": page, "args": request.query})


@routes.get("/broadcasts/new")
async def broadcast_form(request: web.Request) -> web.Response:
    viewer_of(request).require_staff()
    values = await _form_values(request)
    values.update({"problem": None, "form": {}, "chosen": Audience()})
    return render(request, "broadcast_new.html", values)


@routes.get("/broadcasts/count")
async def broadcast_count(request: web.Request) -> web.Response:
    """The live count under the audience choices (read-only, so a GET without a CSRF token)."""
    viewer_of(request).require_staff()
    audience = audience_of(request.query, request.app[CTX].settings.program.business_types)
    counted = await count_audience(request[DB], audience)
    return web.json_response({"people": counted.people, "reachable": counted.reachable,
                              "not_joined": counted.not_joined,
                              "text": _("{people} people: {reachable} on Telegram, {not_joined} not joined yet")
                              .format(people=counted.people, reachable=counted.reachable,
                                      not_joined=counted.not_joined)})


@routes.post("/broadcasts")
async def broadcast_create(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    viewer = viewer_of(request)
    audience = audience_of(form, request.app[CTX].settings.program.business_types)
    when = str(form.get("when", "now"))
    at = _at(str(form.get("at", "")), request) if when == "later" else None
    if when == "later" and at is None:
        at = request[NOW]  # an empty or broken time: refused as "passed" below
    upload = form.get("photo")
    photo = upload.file.read(MAX_UPLOAD_BYTES + 1) if isinstance(upload, web.FileField) and upload.filename else None
    try:
        broadcast = await compose(request[DB], viewer, text_id=str(form.get("text_id", "")),
                                  text_en=str(form.get("text_en", "")), audience=audience, scheduled_at=at,
                                  now=request[NOW], photo=photo or None,
                                  media_dir=Path(request.app[CTX].settings.storage.media_dir))
    except ComposeRefused as exc:
        await request[DB].rollback()
        values = await _form_values(request)
        values.update({"problem": _(PROBLEMS[exc.problem]).format(limit=TEXT_LIMIT, caption=CAPTION_LIMIT),
                       "form": form, "chosen": audience})
        return render(request, "broadcast_new.html", values, status=422)
    await request[DB].commit()  # the delivery worker must see the broadcast and its deliveries
    from services.broadcast.worker import wake

    wake()
    raise web.HTTPSeeOther(f"/broadcasts/{broadcast.id}")


@routes.get("/broadcasts/{broadcast_id:\\d+}")
async def broadcast_detail(request: web.Request) -> web.Response:
    viewer_of(request).require_staff()
    found = await detail(request[DB], int(request.match_info["broadcast_id"]))
    if found is None:
        raise DeskForbidden("not_found")
    return render(request, "broadcast.html", {"d": found})


@routes.post("/broadcasts/{broadcast_id:\\d+}/cancel")
async def broadcast_cancel(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    broadcast_id = int(request.match_info["broadcast_id"])
    await cancel(request[DB], viewer_of(request), broadcast_id, now=request[NOW])
    raise web.HTTPSeeOther(f"/broadcasts/{broadcast_id}")
