"""Telegram's formatting rules, checked cheaply: HTML (strict, like the real parser) and
MarkdownV2 (reserved characters must be escaped).

`parse_text(text, parse_mode)` returns (plain text, entities) or raises `EntityParseError`,
whose message becomes "Bad Request: can't parse entities: ...". Offsets and lengths of
entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any


class EntityParseError(ValueError):
    """The text is not valid for its parse_mode."""


TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(
    r"""\s*([a-zA-Z_:][-a-zA-Z0-9_:.]*)"""
    r"""(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    start: int
    entity: dict[str, Any] | None
    attrs: dict[str, str] = field(default_factory=dict)


class _HtmlParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8"))

    def fail(self, message: str) -> EntityParseError:
        return EntityParseError(message)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos16 += utf16_len(chunk)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        text, i, n = self.text, 0, len(self.text)
        while i < n:
            ch = text[i]
            if ch == "<":
                i = self.tag(i)
            elif ch == "&":
                i = self.entity(i)
            else:
                j = i
                while j < n and text[j] not in "<&":
                    j += 1
                self.emit(text[i:j])
                i = j
        if self.stack:
            name = self.stack[-1].name
            raise self.fail(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def entity(self, i: int) -> int:
        match = _ENTITY_RE.match(self.text, i)
        if match is None:
            raise self.fail(
                f'Character "&" at byte offset {self.byte_offset(i)} must be escaped as "&amp;"'
            )
        dec, hexa, name = match.groups()
        if name is not None:
            if name not in NAMED_ENTITIES:
                raise self.fail(
                    f'Unsupported HTML entity "&{name};" at byte offset {self.byte_offset(i)}'
                )
            self.emit(NAMED_ENTITIES[name])
        else:
            code = int(dec) if dec is not None else int(hexa, 16)
            if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise self.fail(f"Invalid HTML entity at byte offset {self.byte_offset(i)}")
            self.emit(chr(code))
        return match.end()

    def tag(self, i: int) -> int:
        end = self.text.find(">", i)
        if end == -1:
            raise self.fail(f"Unclosed start tag at byte offset {self.byte_offset(i)}")
        inner = self.text[i + 1 : end]
        if inner.startswith("/"):
            self.close_tag(inner[1:].strip().lower(), i)
        else:
            self.open_tag(inner, i)
        return end + 1

    def open_tag(self, inner: str, i: int) -> None:
        match = _TAG_NAME_RE.match(inner)
        name = match.group(0).lower() if match else inner.split(" ", 1)[0][:32]
        if match is None or name not in TAG_ENTITY:
            raise self.fail(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(i)}')
        attrs = {
            m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in _ATTR_RE.finditer(inner, match.end())
            if m.group(1)
        }
        entity: dict[str, Any] | None = {"type": TAG_ENTITY[name]}
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail(f'Unsupported start tag "span" at byte offset {self.byte_offset(i)}')
        if name == "a":
            href = attrs.get("href", "")
            entity = {"type": "text_link", "url": href} if href else None
        elif name == "tg-emoji":
            if not attrs.get("emoji-id", "").isdigit():
                offset = self.byte_offset(i)
                raise self.fail(f"Invalid custom emoji identifier at byte offset {offset}")
            entity["custom_emoji_id"] = attrs["emoji-id"]
        elif name == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        elif name == "code" and self.stack and self.stack[-1].name == "pre":
            language = attrs.get("class", "")
            pre = self.stack[-1].entity
            if pre is not None and language.startswith("language-"):
                pre["language"] = language.removeprefix("language-")
            entity = None  # <pre><code> is a single "pre" entity
        self.stack.append(_Open(name, self.pos16, entity, attrs))

    def close_tag(self, name: str, i: int) -> None:
        if not self.stack:
            raise self.fail(f'Unexpected end tag "{name}" at byte offset {self.byte_offset(i)}')
        top = self.stack.pop()
        if top.name != name:
            raise self.fail(
                f"Unmatched end tag at byte offset {self.byte_offset(i)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        length = self.pos16 - top.start
        if top.entity is not None and length > 0:
            self.entities.append({**top.entity, "offset": top.start, "length": length})


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: (plain text, entities) or EntityParseError."""
    return _HtmlParser(text).parse()


_MD_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD_MARKUP = set("*_~|[")


def parse_markdown_v2(text: str) -> str:
    """A light MarkdownV2 check: reserved characters outside markup must be escaped.

    Returns the text without markup characters and escapes (entities are not computed).
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                raise EntityParseError(f"Text must not end with '\\' at byte offset {i}")
            out.append(text[i + 1])
            i += 2
        elif ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of {'Pre' if fence == '```' else 'Code'} entity "
                    f"at byte offset {len(text[:i].encode())}"
                )
            body = text[i + len(fence) : end]
            if fence == "```" and "\n" in body:
                body = body.split("\n", 1)[1]  # the first line names the language
            out.append(body.replace("\\`", "`").replace("\\\\", "\\"))
            i = end + len(fence)
        elif ch == "]" and text.startswith("(", i + 1):
            end = text.find(")", i + 2)
            if end == -1:
                raise EntityParseError("Can't find end of a URL")
            i = end + 1
        elif ch == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a blockquote line
        elif ch in _MD_MARKUP or ch == "]":
            i += 1
        elif ch in _MD_RESERVED:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Apply a parse_mode to a text or caption: (plain text, entities)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text), []
    if mode == "markdown":
        return re.sub(r"[*_`]|\[|\]\([^)]*\)", "", text), []
    return text, []


def strip_html(text: str) -> str:
    """Best-effort plain rendering of HTML for people: drop tags, unescape entities."""
    try:
        return parse_html(text)[0]
    except EntityParseError:
        return html.unescape(re.sub(r"<[^>]*>", "", text))
