"""The text summary (translated, locale-formatted numbers, WITA times) and the PNG charts."""

from __future__ import annotations

import io
from datetime import date

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from PIL import Image

from bot.i18n import LOCALES_DIR
from bot.i18n_extract import KEYWORDS
from services.reports import build_report, render_chart, render_charts, render_summary, translator
from services.reports.charts import MAX_GROUPS_PER_CHART, build_figure
from tests.reports.test_survival import _hand_example


def _msgids() -> set[str]:
    root = LOCALES_DIR.parent / "services" / "reports"
    found = set()
    for _f, _l, msg, *_ in extract_from_dir(str(root), method_map=[("**.py", "python")], keywords=KEYWORDS):
        found.update(msg if isinstance(msg, tuple) else (msg,))
    return {m for m in found if m}


def test_reports_catalogs_hold_every_msgid_in_both_languages() -> None:
    ids = _msgids()
    assert "UEP report, {when}" in ids and "Months after aid" in ids
    for lang in ("id", "en"):
        with (LOCALES_DIR / lang / "LC_MESSAGES" / "reports.po").open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        assert catalog.charset.lower() == "utf-8"
        translated = {m.id: m.string for m in catalog if m.id and m.string}
        assert ids <= set(translated), sorted(ids - set(translated))
        if lang == "en":
            assert all(translated[m] == m for m in ids)


async def test_summary_in_indonesian_and_english(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _hand_example(session, cipher, region)
    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="sex")

    text_id = render_summary(rep, translator("id"), "id")
    assert text_id.startswith("Laporan UEP, 2 Mar 2026, 09.00 WITA") or text_id.startswith(
        "Laporan UEP, 2 Mar 2026, 09:00 WITA"
    )
    assert "3 bulan: 88,9% · 6 bulan: 74,1% · 12 bulan: 39,5%" in text_id
    assert "Model kelompok lama: 46,0% masih berjalan" in text_id
    assert "tidak diketahui" in text_id and "(20,0%)" in text_id
    assert "• Perempuan (n=5): 80,0% · 53,3% · 53,3%" in text_id
    assert "• Laki-laki (n=5): 100,0% · 100,0% · –" in text_id

    text_en = render_summary(rep, translator("en"), "en")
    assert text_en.startswith("UEP report, 2 Mar 2026, 09:00 WITA")
    assert "3 months: 88.9% · 6 months: 74.1% · 12 months: 39.5%" in text_en
    assert "• Women (n=5): 80.0% · 53.3% · 53.3%" in text_en
    # The default gettext is the identity (English msgids).
    assert render_summary(rep) == text_en


async def test_thousands_separators(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    from tests.reports.conftest import add_recipient

    for _ in range(1234):
        add_recipient(session, cipher, kecamatan_id=region.kec_a1, aid_date=None)
    await session.commit()
    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock)
    assert "Penerima: 1.234; 1.234 masih menunggu bantuan" in render_summary(rep, translator("id"), "id")
    assert "Recipients: 1,234; 1,234 still waiting" in render_summary(rep, translator("en"), "en")


async def test_chart_is_a_phone_sized_png_with_at_most_six_lines(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    from tests.reports.conftest import add_recipient

    await _hand_example(session, cipher, region)
    # Two more business types so the breakdown has six groups and needs two charts.
    add_recipient(
        session, cipher, kecamatan_id=region.kec_a1, aid_date=date(2025, 5, 1), business_type="minuman"
    )
    add_recipient(
        session, cipher, kecamatan_id=region.kec_a1, aid_date=date(2025, 5, 1), business_type="ternak_ayam"
    )
    await session.commit()
    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="business_type")
    assert len(rep.groups) == 6

    png = render_chart(rep, gettext=translator("id"), locale="id")
    img = Image.open(io.BytesIO(png))
    img.verify()
    assert img.format == "PNG" and img.size == (1080, 1080)

    fig = build_figure(rep)
    ax = fig.axes[0]
    assert len(ax.lines) <= 6  # overall + 4 groups + the baseline
    baseline = [ln for ln in ax.lines if ln.get_linestyle() not in ("-", "solid")]
    assert len(baseline) == 1 and list(baseline[0].get_ydata()) == [46.0, 46.0]
    assert any("Old group model" in t.get_text() for t in ax.texts)
    assert ax.get_xlabel() == "Months after aid"
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 14

    charts = render_charts(rep)
    assert len(charts) == 2  # 6 groups, 4 per chart
    assert MAX_GROUPS_PER_CHART == 4
    for data in charts:
        Image.open(io.BytesIO(data)).verify()

    overall_only = await build_report(session, settings=ctx.settings, clock=ctx.clock)
    assert len(render_charts(overall_only)) == 1
    assert len(build_figure(overall_only).axes[0].lines) == 2
