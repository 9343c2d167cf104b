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
from tests.reports.test_survival import _hand_example, _small


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
    # The hand example is ten people: with the minimum at one, every figure shows (with a wide interval).
    rep = await build_report(session, settings=_small(ctx.settings), clock=ctx.clock, breakdown="sex")

    text_id = render_summary(rep, translator("id"), "id")
    assert text_id.startswith("Laporan UEP, 2 Mar 2026, 09.00 WITA") or text_id.startswith(
        "Laporan UEP, 2 Mar 2026, 09:00 WITA"
    )
    # Greenwood + log-log by hand at 3 months: S = 8/9, var term 1/(9·8), σ = √(1/72)/|ln 8/9| → (43,3–98,4%).
    assert "• 3 bulan: 88,9% (43,3–98,4%), 6 teramati — belum bisa dipastikan dibanding model kelompok (46%)" in (
        text_id
    )
    assert "• 6 bulan: 74,1% (28,9–93,0%), 5 teramati" in text_id
    assert "• 12 bulan: 39,5% (6,4–73,0%), 1 teramati" in text_id
    assert "model kelompok lama: 46% masih berjalan" in text_id
    assert (
        "Status tidak diketahui: 2 (20,0%) = belum pernah lapor sejak bantuan 1 + lapor rutin terlewat 1"
        " + lapor pertama belum jatuh tempo 0"
    ) in text_id
    assert "Menurut jenis kelamin, masih berjalan setelah 12 bulan (tertinggi dulu):" in text_id
    women = text_id.index("• Perempuan (n=5): 53,3% (6,8–86,3%), 1 teramati")
    men = text_id.index("• Laki-laki (n=5): belum cukup data (n=0)")
    assert women < men  # a group with a figure before one without
    assert "Perbedaan antara perempuan dan laki-laki: belum bermakna (uji log-rank p = " in text_id

    text_en = render_summary(rep, translator("en"), "en")
    assert text_en.startswith("UEP report, 2 Mar 2026, 09:00 WITA")
    assert "• 3 months: 88.9% (43.3–98.4%), 6 observed — not certain yet against the group model (46%)" in text_en
    assert "• Women (n=5): 53.3% (6.8–86.3%), 1 observed" in text_en
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


async def test_chart_is_a_phone_sized_png_with_at_most_five_curves(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
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
    assert img.format == "PNG" and img.size == (1024, 1280)

    fig = build_figure(rep)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 5  # overall + 4 groups
    # Ten people: every curve is below the minimum of 20 observed, so each is faded and says so.
    assert all(t.endswith("not enough data") for t in legend)
    baseline = [ln for ln in ax.lines if ln.get_linestyle() not in ("-", "solid")]
    assert len(baseline) == 1 and list(baseline[0].get_ydata()) == [46.0, 46.0]
    assert any("Old group model: 46%" in t.get_text() for t in ax.texts)
    assert ax.get_xlabel() == "Months after aid"
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 14
    figure_text = [t.get_text() for t in fig.texts]
    assert "Number observed (at risk)" in figure_text
    assert "12" in figure_text  # the overall row starts with everybody (ten + two)
    assert any(t.startswith("Data: aid from 1 Jan 2025; latest report ") for t in figure_text)

    charts = render_charts(rep)
    assert len(charts) == 2  # 6 groups, 4 per chart
    assert MAX_GROUPS_PER_CHART == 4
    for data in charts:
        Image.open(io.BytesIO(data)).verify()

    overall_only = await build_report(session, settings=ctx.settings, clock=ctx.clock)
    assert len(render_charts(overall_only)) == 1
    assert len(build_figure(overall_only).axes[0].get_legend().get_texts()) == 1
