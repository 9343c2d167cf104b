"""Small actions on the sandbox page, in the words of the person using it."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect


async def open_page(browser: Any, url: str, *, viewport: dict[str, int] | None = None) -> Page:
    page = await browser.new_page()
    if viewport:
        await page.set_viewport_size(viewport)
    await page.goto(url)
    await expect(page.locator(".clock-now").first).to_contain_text("WITA")
    return page


async def pick_person(page: Page, kind: str, query: str, name: str) -> None:
    """Choose someone from "Pilih orang": kind is the segment label (Penerima, TKSK/PSM, Dinas Sosial)."""
    tab = page.locator('.tab[data-tab="people"]')
    if "active" not in (await tab.get_attribute("class") or ""):
        await tab.click()
    segment = page.locator(".seg", has_text=kind)
    await segment.click()
    data_kind = await segment.get_attribute("data-kind")
    if query:
        await page.fill("#people-search", query)
    await expect(page.locator("#people-list")).to_have_attribute("data-query", f"{data_kind}:{query}")
    item = page.locator("#people-list li", has_text=name).first
    await item.click()
    await expect(page.locator("#as-name")).to_have_text(re.compile(re.escape(name), re.I))


async def send(page: Page, text: str) -> None:
    await page.fill("#input", text)
    await page.keyboard.press("Enter")
    await expect(page.locator(".msg.out .bubble").last).to_contain_text(text.split("\n")[0][:40])


def bot_message(page: Page, text: str | re.Pattern[str]) -> Any:
    return page.locator(".msg.in", has=page.locator(".bubble", has_text=text)).last


async def wait_bot(page: Page, text: str | re.Pattern[str], timeout: float = 10_000) -> Any:
    """The bot's latest message matching ``text``, located by its message id (so it survives edits)."""
    msg = bot_message(page, text)
    await expect(msg).to_be_visible(timeout=timeout)
    return page.locator(f"#{await msg.get_attribute('id')}")


async def press_inline(page: Page, label: str | re.Pattern[str]) -> None:
    await page.locator(".inline-kb button", has_text=label).last.click()


async def press_reply(page: Page, label: str | re.Pattern[str]) -> None:
    await page.locator("#reply-kb button", has_text=label).first.click()
