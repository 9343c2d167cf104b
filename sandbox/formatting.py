"""parse_mode rendering: HTML, MarkdownV2 and legacy Markdown → plain text + MessageEntity list.

Why: Telegram refuses a message whose markup it cannot parse ("can't parse entities: …"), which is
one of the most common production failures of bots (an unescaped ``<`` or ``.`` in user data).  The
emulator parses markup the way Telegram does, rejects what Telegram rejects, and keeps the plain
rendering so tests can assert on what the person actually sees.

Entity offsets/lengths are in UTF-16 code units, as in the Bot API.  Error positions are byte
offsets in the UTF-8 source, as Telegram reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape as _html_unescape
from typing import Any

from .errors import ApiError


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram counts for offsets and the 4096 limit)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _parse_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


@dataclass
class Rendered:
    """Result of parsing: what the person sees and the entities Telegram would attach."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


class _Builder:
    """Accumulates plain text and tracks UTF-16 positions for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0  # utf-16 position
        self.entities: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.pos += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        length = self.pos - start
        if length > 0:
            ent: dict[str, Any] = {"type": kind, "offset": start, "length": length}
            ent.update({k: v for k, v in extra.items() if v is not None})
            self.entities.append(ent)

    def result(self) -> Rendered:
        ents = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return _strip(Rendered("".join(self.parts), ents))


def _strip(r: Rendered) -> Rendered:
    """Telegram trims surrounding whitespace of a message; entities shift accordingly."""
    lead = len(r.text) - len(r.text.lstrip())
    text = r.text.strip()
    if not lead and len(text) == len(r.text):
        return r
    shift = utf16_len(r.text[:lead])
    total = utf16_len(text)
    ents = []
    for e in r.entities:
        start = max(e["offset"] - shift, 0)
        end = min(e["offset"] + e["length"] - shift, total)
        if end > start:
            ents.append({**e, "offset": start, "length": end - start})
    return Rendered(text, ents)


# ---------------------------------------------------------------------------------------------- HTML
_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
}
_SPECIAL_TAGS = {"a", "span", "tg-emoji", "blockquote", "tg-time"}
_ATTR_RE = re.compile(r"""\s*([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


def parse_html(source: str) -> Rendered:
    b = _Builder()
    stack: list[tuple[str, int, dict[str, str], int]] = []  # tag, start, attrs, byte offset
    i = 0
    n = len(source)
    while i < n:
        lt = source.find("<", i)
        amp = source.find("&", i)
        nxt = min(x for x in (lt, amp, n) if x != -1)
        if nxt > i:
            b.add(source[i:nxt])
            i = nxt
            continue
        if source[i] == "&":
            m = _ENTITY_RE.match(source, i)
            if m:
                b.add(_html_unescape(m.group(0)))
                i = m.end()
            else:  # Telegram leaves unknown "&" sequences as they are
                b.add("&")
                i += 1
            continue
        # a tag
        byte_off = len(source[:i].encode("utf-8"))
        gt = source.find(">", i)
        if gt == -1:
            raise _parse_error(f"Unclosed start tag at byte offset {byte_off}")
        inner = source[i + 1 : gt]
        i = gt + 1
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise _parse_error(f'Unexpected end tag at byte offset {byte_off}')
            tag, start, attrs, _ = stack[-1]
            if name != tag:
                raise _parse_error(
                    f'Unmatched end tag at byte offset {byte_off}, expected "</{tag}>", found "</{name}>"'
                )
            stack.pop()
            _close_html(b, tag, start, attrs, stack)
            continue
        m = re.match(r"([a-zA-Z][a-zA-Z0-9-]*)", inner)
        if not m:
            raise _parse_error(f'Unsupported start tag "{inner[:20]}" at byte offset {byte_off}')
        name = m.group(1).lower()
        if name not in _SIMPLE_TAGS and name not in _SPECIAL_TAGS:
            raise _parse_error(f'Unsupported start tag "{name}" at byte offset {byte_off}')
        attrs: dict[str, str] = {}
        for am in _ATTR_RE.finditer(inner, m.end()):
            if am.group(1):
                attrs[am.group(1).lower()] = _html_unescape(
                    next((g for g in am.groups()[1:] if g is not None), "")
                )
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_off}')
        if name == "tg-emoji" and "emoji-id" not in attrs:
            raise _parse_error(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte_off}')
        stack.append((name, b.pos, attrs, byte_off))
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return b.result()


def _close_html(b: _Builder, tag: str, start: int, attrs: dict[str, str], stack: list[Any]) -> None:
    if tag in ("code",) and stack and stack[-1][0] == "pre":
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1][2]["language"] = lang[len("language-") :]
        return  # <pre><code class="language-x"> is one pre entity
    if tag == "a":
        href = attrs.get("href")
        if not href:
            return
        m = re.match(r"tg://user\?id=(\d+)$", href)
        if m:
            b.entity("text_mention", start, user={"id": int(m.group(1)), "is_bot": False, "first_name": ""})
        else:
            b.entity("text_link", start, url=href)
        return
    if tag == "span" or tag == "tg-spoiler":
        b.entity("spoiler", start)
    elif tag == "tg-emoji":
        b.entity("custom_emoji", start, custom_emoji_id=attrs.get("emoji-id"))
    elif tag == "blockquote":
        b.entity("expandable_blockquote" if "expandable" in attrs else "blockquote", start)
    elif tag == "tg-time":
        b.entity("date_time", start)
    elif tag == "pre":
        b.entity("pre", start, language=attrs.get("language"))
    else:
        b.entity(_SIMPLE_TAGS[tag], start)


# ----------------------------------------------------------------------------------------- MarkdownV2
_RESERVED_V2 = set("_*[]()~`>#+-=|{}.!")
_V2_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "text_link": "TextUrl", "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(source: str) -> Rendered:
    b = _Builder()
    stack: list[tuple[str, int, int]] = []  # kind, start, byte offset
    i = 0
    n = len(source)
    quote_start: int | None = None

    def byte_at(k: int) -> int:
        return len(source[:k].encode("utf-8"))

    def toggle(kind: str, k: int) -> None:
        if stack and stack[-1][0] == kind:
            _, start, _ = stack.pop()
            b.entity(kind, start)
        elif any(s[0] == kind for s in stack):
            raise _parse_error(f"Can't find end of {_V2_NAMES[kind]} entity at byte offset {byte_at(stack[-1][2])}")
        else:
            stack.append((kind, b.pos, k))

    at_line_start = True
    while i < n:
        ch = source[i]
        if at_line_start:
            at_line_start = False
            if ch == ">" or source.startswith("**>", i):
                if quote_start is None:
                    quote_start = b.pos
                i += 3 if ch == "*" else 1
                continue
            if quote_start is not None:
                b.entity("blockquote", quote_start)
                quote_start = None
        if ch == "\\":
            if i + 1 < n and 1 <= ord(source[i + 1]) <= 126:
                b.add(source[i + 1])
                i += 2
                continue
            raise _parse_error("Character '\\' is reserved and must be escaped with the preceding '\\'")
        if ch == "\n":
            b.add(ch)
            i += 1
            at_line_start = True
            continue
        if ch == "`":
            if source.startswith("```", i):
                end = source.find("```", i + 3)
                if end == -1:
                    raise _parse_error(f"Can't find end of Pre entity at byte offset {byte_at(i)}")
                body = source[i + 3 : end]
                lang = None
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and " " not in first:
                        lang, body = first, rest
                start = b.pos
                b.add(_unescape_code(body))
                b.entity("pre", start, language=lang)
                i = end + 3
                continue
            end = i + 1
            while end < n and source[end] != "`":
                end += 2 if source[end] == "\\" else 1
            if end >= n:
                raise _parse_error(f"Can't find end of Code entity at byte offset {byte_at(i)}")
            start = b.pos
            b.add(_unescape_code(source[i + 1 : end]))
            b.entity("code", start)
            i = end + 1
            continue
        if ch == "*":
            toggle("bold", i)
            i += 1
            continue
        if ch == "_":
            if source.startswith("__", i) and not (stack and stack[-1][0] == "italic"):
                toggle("underline", i)
                i += 2
            else:
                toggle("italic", i)
                i += 1
            continue
        if ch == "~":
            toggle("strikethrough", i)
            i += 1
            continue
        if ch == "|" and source.startswith("||", i):
            if quote_start is not None and (i + 2 >= n or source[i + 2] == "\n") and not (
                stack and stack[-1][0] == "spoiler"
            ):
                b.entity("expandable_blockquote", quote_start)
                quote_start = None
                i += 2
                continue
            toggle("spoiler", i)
            i += 2
            continue
        if ch == "[" or source.startswith("![", i):
            kind = "custom_emoji" if ch == "!" else "text_link"
            stack.append((kind, b.pos, i))
            i += 2 if ch == "!" else 1
            continue
        if ch == "]" and stack and stack[-1][0] in ("text_link", "custom_emoji"):
            kind, start, opened = stack.pop()
            if not source.startswith("(", i + 1):
                raise _parse_error(f"Can't find end of {_V2_NAMES[kind]} entity at byte offset {byte_at(opened)}")
            end = i + 2
            url_chars: list[str] = []
            while end < n and source[end] != ")":
                if source[end] == "\\" and end + 1 < n:
                    url_chars.append(source[end + 1])
                    end += 2
                else:
                    url_chars.append(source[end])
                    end += 1
            if end >= n:
                raise _parse_error(f"Can't find end of a URL at byte offset {byte_at(i + 1)}")
            url = "".join(url_chars)
            if kind == "custom_emoji":
                b.entity(kind, start, custom_emoji_id=url.rsplit("id=", 1)[-1])
            else:
                b.entity(kind, start, url=url)
            i = end + 1
            continue
        if ch in _RESERVED_V2:
            raise _parse_error(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
        b.add(ch)
        i += 1
    if quote_start is not None:
        b.entity("blockquote", quote_start)
    if stack:
        kind, _, opened = stack[-1]
        raise _parse_error(f"Can't find end of {_V2_NAMES.get(kind, kind)} entity at byte offset {byte_at(opened)}")
    return b.result()


def _unescape_code(text: str) -> str:
    return re.sub(r"\\([`\\])", r"\1", text)


# ------------------------------------------------------------------------------------ legacy Markdown
def parse_markdown(source: str) -> Rendered:
    b = _Builder()
    i = 0
    n = len(source)
    marks = {"*": "bold", "_": "italic"}
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in "*_`[":
            b.add(source[i + 1])
            i += 2
            continue
        if ch in marks or ch == "`" or ch == "[":
            byte_off = len(source[:i].encode("utf-8"))
            if source.startswith("```", i):
                end = source.find("```", i + 3)
                if end == -1:
                    raise _parse_error(f"Can't find end of the entity starting at byte offset {byte_off}")
                start = b.pos
                b.add(source[i + 3 : end])
                b.entity("pre", start)
                i = end + 3
                continue
            if ch == "[":
                m = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(source, i)
                if not m:
                    raise _parse_error(f"Can't find end of the entity starting at byte offset {byte_off}")
                start = b.pos
                b.add(m.group(1))
                b.entity("text_link", start, url=m.group(2))
                i = m.end()
                continue
            end = source.find(ch, i + 1)
            if end == -1:
                raise _parse_error(f"Can't find end of the entity starting at byte offset {byte_off}")
            start = b.pos
            b.add(source[i + 1 : end])
            b.entity("code" if ch == "`" else marks[ch], start)
            i = end + 1
            continue
        b.add(ch)
        i += 1
    return b.result()


def render(text: str, parse_mode: str | None) -> Rendered:
    """Parse ``text`` according to ``parse_mode`` (case-insensitive, as Telegram accepts)."""
    if not parse_mode:
        return _strip(Rendered(text))
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ApiError(400, "Bad Request: unsupported parse_mode")


def to_html(text: str, entities: list[dict[str, Any]] | None) -> str:
    """Render plain text + entities back to Telegram HTML (for the browser sandbox and asserts)."""
    from html import escape

    if not entities:
        return escape(text, quote=False)
    # Work in UTF-16 units to honour offsets.
    units = text.encode("utf-16-le")
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    tags = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "spoiler": "tg-spoiler",
            "code": "code", "pre": "pre", "blockquote": "blockquote", "expandable_blockquote": "blockquote"}
    for e in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        kind = e["type"]
        if kind == "text_link":
            o, c = f'<a href="{escape(e.get("url", ""))}">', "</a>"
        elif kind in tags:
            o, c = f"<{tags[kind]}>", f"</{tags[kind]}>"
        else:
            continue
        opens.setdefault(e["offset"], []).append(o)
        closes.setdefault(e["offset"] + e["length"], []).insert(0, c)
    out: list[str] = []
    total = len(units) // 2
    for pos in range(total + 1):
        out.extend(closes.get(pos, []))
        out.extend(opens.get(pos, []))
        if pos < total:
            out.append(escape(units[pos * 2 : pos * 2 + 2].decode("utf-16-le", errors="surrogatepass"), quote=False))
    return "".join(out).encode("utf-16-le", errors="surrogatepass").decode("utf-16-le")
