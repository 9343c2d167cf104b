"""The map: last known business locations coloured by status, one circle per kecamatan when many people are in
view, nobody else's kecamatan for a TKSK, and tiles only from the configured URL."""

from __future__ import annotations

from bot.context import AppContext
from db.models import Checkin
from services.desk.map import MapPoint, MapView, layout
from tests.web.conftest import Desk, People, World


async def test_points_are_last_known_locations_within_the_viewers_area(desk: Desk, people: People, world: World,
                                                                       ctx: AppContext) -> None:
    now = ctx.clock.now()
    async with ctx.session_factory.begin() as s:
        s.add(Checkin(recipient_id=world.recipient.id, status="running", submitted_at=now, latitude=-0.59,
                      longitude=117.19))
        s.add(Checkin(recipient_id=world.other_recipient.id, status="paused", submitted_at=now, latitude=-0.45,
                      longitude=117.05))
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.get("/map") as page:
            html = await page.text()
            assert "<image" not in html  # no tile URL configured: a plain background
    assert f'href="/people/{world.recipient.id}"' in html and f'href="/people/{world.other_recipient.id}"' in html
    assert "2 dari 2 penerima" in html
    tksk = await desk.signed_in(people.tksk)
    async with tksk:
        async with tksk.get("/map", params={"kab": "1", "kec": str(world.other_recipient.kecamatan_id)}) as page:
            html = await page.text()
    assert f'href="/people/{world.recipient.id}"' in html
    assert f'href="/people/{world.other_recipient.id}"' not in html


def test_layout_fits_the_points_and_places_tiles_from_the_template() -> None:
    view = MapView([MapPoint(-0.5, 117.1, "a", "running"), MapPoint(-1.2, 116.8, "b", "stopped")], False, 2, 2,
                   bounds=(-1.2, 116.8, -0.5, 117.1))
    placed, tiles = layout(view, 960, 640, "https://tiles.example/{z}/{x}/{y}.png")
    assert all(0 <= p.x <= 960 and 0 <= p.y <= 640 for p in placed)
    assert placed[0].y < placed[1].y  # north is up
    assert tiles and all(t.url.startswith("https://tiles.example/") for t in tiles)
    assert layout(view, 960, 640)[1] == []


async def test_many_people_in_view_are_gathered_per_kecamatan(desk: Desk, people: People, world: World,
                                                              ctx: AppContext, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import services.desk.map as desk_map

    monkeypatch.setattr(desk_map, "MAX_POINTS", 1)  # two located people are "many" here
    now = ctx.clock.now()
    async with ctx.session_factory.begin() as s:
        for r, lat in ((world.recipient, -0.59), (world.other_recipient, -0.45)):
            s.add(Checkin(recipient_id=r.id, status="running", submitted_at=now, latitude=lat, longitude=117.1))
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.get("/map") as page:
            html = await page.text()
    assert "satu lingkaran per kecamatan" in html
    assert "href=\"/people/" not in html and html.count("<circle") == 2
    assert "Palaran: 1" in html and "Loa Janan: 1" in html
