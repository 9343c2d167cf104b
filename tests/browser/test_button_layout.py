"""#17 §3: no button label is cut off on a 360-px phone, for recipients, TKSK and Dinas Sosial staff.

The web chat lays inline buttons out as Telegram's apps do (every button of a row the same width, a label too
long for it cut with "…"). The check: on a 360-px-wide page, no button's text is wider than the button. A
keyboard written straight into the emulator (not through the bot) with two long labels in a row shows that the
check fails when a label is cut off.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from sandbox.app import SandboxApp
from sandbox.personas import RECIPIENT_BASE

from .helpers import open_page, pick_person, press_inline, press_reply, send, wait_bot
from .test_flows import TKSK, joined_earlier

pytestmark = pytest.mark.browser
NARROW = {"width": 360, "height": 740}

# A label is cut off when its natural width (a clone with the same font, free to grow) is more than the room
# inside the button (its width less its padding). scrollWidth alone misses some ellipsised labels.
CUT_OFF = """() => [...document.querySelectorAll('.inline-kb button, #reply-kb button')]
  .filter(b => b.offsetParent !== null)
  .filter(b => {
    const cs = getComputedStyle(b);
    const probe = document.createElement('span');
    probe.textContent = b.textContent;
    probe.style.cssText = `position:absolute;visibility:hidden;white-space:nowrap;font:${cs.font};` +
      `letter-spacing:${cs.letterSpacing}`;
    document.body.append(probe);
    const natural = probe.getBoundingClientRect().width;
    probe.remove();
    const room = b.getBoundingClientRect().width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    return natural > room + 0.5 && cs.whiteSpace === 'nowrap';
  })
  .map(b => b.textContent)"""


async def cut_off(page: Page) -> list[str]:
    await page.wait_for_timeout(150)  # the last render
    return await page.evaluate(CUT_OFF)


async def test_no_label_is_cut_off_at_360_px(sandbox_app: SandboxApp, browser: Any, shots: Any) -> None:
    seen: dict[str, list[str]] = {}
    r = await joined_earlier(sandbox_app, "Erna Sinaga")
    tksk = await open_page(browser, sandbox_app.url, viewport=NARROW)
    await pick_person(tksk, "TKSK/PSM", "palaran", TKSK)
    dissos = await open_page(browser, sandbox_app.url, viewport=NARROW)
    await pick_person(dissos, "Dinas Sosial", "", "Andi Pratama")
    me = await open_page(browser, sandbox_app.url, viewport=NARROW)
    await pick_person(me, "Penerima", "erna palaran", "Erna Sinaga")

    # The check can fail: two long labels side by side, written into the chat without the bot's layout.
    emulator = sandbox_app.emulator
    assert emulator is not None
    bot = emulator.bots[0]
    chat = emulator.world.chat(bot, RECIPIENT_BASE + r.id)
    emulator.world.add_message(bot, chat, outgoing=True, fields={"text": "uji tata letak"}, reply_markup={
        "inline_keyboard": [[{"text": "🆘 Laporkan sebagai kendala", "callback_data": "x:1"},
                             {"text": "📋 Pakai untuk lapor usaha", "callback_data": "x:2"}]]})
    await wait_bot(me, "uji tata letak")
    assert len(await cut_off(me)) == 2, "the check sees labels cut off"
    await shots(me, "control-cut-off")
    await me.locator(".msg.in", has_text="uji tata letak").evaluate("n => n.remove()")

    await send(me, "bu oven saya rusak tidak bisa bikin kue")
    await wait_bot(me, "Mau diapakan?")
    seen["kept question"] = await cut_off(me)
    await press_inline(me, "Laporkan sebagai kendala")
    await wait_bot(me, "Kendalanya jenis apa?")
    seen["kinds"] = await cut_off(me)
    await shots(me, "kinds")
    await press_inline(me, "Peralatan rusak")
    await wait_bot(me, "seberapa mendesak")
    seen["urgency"] = await cut_off(me)
    await press_inline(me, "Sangat mendesak")
    await wait_bot(me, "tersimpan dengan nomor")
    await press_reply(me, "Lapor usaha")
    await wait_bot(me, "Bagaimana usaha Anda sekarang?")
    seen["business status"] = await cut_off(me)
    await press_inline(me, "Masih jalan")
    await wait_bot(me, "Berapa hari")
    seen["days"] = await cut_off(me)
    await press_inline(me, "5")
    await wait_bot(me, "berapa penjualan")
    seen["sales"] = await cut_off(me)
    await shots(me, "sales")
    seen["main menu"] = await cut_off(me)

    await wait_bot(tksk, "Erna Sinaga")
    seen["tksk alert"] = await cut_off(tksk)
    await shots(tksk, "tksk-alert")
    await send(tksk, "/kasus")
    await wait_bot(tksk, "Erna Sinaga")
    seen["tksk cases"] = await cut_off(tksk)

    for command, expected in (("/antrian", "UEP-"), ("/ekspor", "Ekspor"), ("/siaran", "")):
        await send(dissos, command)
        await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
        if expected:
            await wait_bot(dissos, expected)
        seen[f"staff {command}"] = await cut_off(dissos)
    await shots(dissos, "staff")

    assert {k: v for k, v in seen.items() if v} == {}, "labels cut off at 360 px"
