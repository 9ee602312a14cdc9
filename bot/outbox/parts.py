"""A rendered message as Bot API calls: split to Telegram's size limits, never cut.

Text longer than a message allows is split into several messages, preferably at a blank line,
then at a line break, then at a space. For HTML, a cut never falls inside a tag or an entity,
and tags open at a cut are closed at the end of the part and reopened at the start of the next,
so every part is valid HTML. Lengths are counted in UTF-16 code units, as Telegram counts them,
on the raw text (tags included): a part may come out shorter than it could be, never longer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiogram.methods import SendDocument, SendMessage, SendPhoto
from aiogram.types import FSInputFile

from bot.outbox.renderers import RenderedMessage
from utils.text import CAPTION_LIMIT, TEXT_LIMIT, utf16_len

SendCall = SendMessage | SendPhoto | SendDocument

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    size: int  # UTF-16 code units
    opens: str | None = None  # tag name, for an opening tag
    closes: str | None = None  # tag name, for a closing tag

    @property
    def is_space(self) -> bool:
        return self.opens is None and self.closes is None and self.text.isspace()


def _char(ch: str) -> _Token:
    return _Token(ch, 2 if ord(ch) > 0xFFFF else 1)


def _tokenize(text: str, html: bool) -> list[_Token]:
    """Characters, plus (for HTML) whole tags and entities as single uncuttable tokens."""
    if not html:
        return [_char(ch) for ch in text]
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "<" and (m := _TAG.match(text, i)):
            name = m.group(2).lower()
            closing = bool(m.group(1))
            tokens.append(
                _Token(
                    m.group(0),
                    utf16_len(m.group(0)),
                    opens=None if closing else name,
                    closes=name if closing else None,
                )
            )
            i = m.end()
        elif ch == "&" and (m := _ENTITY.match(text, i)):
            tokens.append(_Token(m.group(0), len(m.group(0))))
            i = m.end()
        else:
            tokens.append(_char(ch))
            i += 1
    return tokens


def _apply(stack: list[_Token], token: _Token) -> None:
    """Track open tags: push an opening tag, pop the innermost matching one on a closing tag."""
    if token.opens:
        stack.append(token)
    elif token.closes:
        for k in range(len(stack) - 1, -1, -1):
            if stack[k].opens == token.closes:
                del stack[k]
                break


def _closing(stack: list[_Token]) -> str:
    return "".join(f"</{t.opens}>" for t in reversed(stack))


def _find_cut(window: list[_Token], min_cut: int, limit: int) -> int:
    """Tokens of `window` to put in this part: all of them if they fit, else a good cut."""
    total = 0
    overhead = 0  # closing tags this part would need if cut here
    stack: list[_Token] = []
    fit = para = line = space = None
    for k, token in enumerate(window, start=1):
        total += token.size
        _apply(stack, token)
        if token.opens or token.closes:
            overhead = utf16_len(_closing(stack))
        if total + overhead > limit:
            break
        if k <= min_cut:
            continue
        fit = k
        if token.text == "\n":
            line = k
            if k >= 2 and window[k - 2].text == "\n":
                para = k
        elif token.is_space:
            space = k
    else:
        return len(window)
    if fit is None:  # not even one token fits after the reopened tags: cut anyway
        return min_cut + 1
    # A separator only wins when it leaves the part at least half full.
    enough = min_cut + (fit - min_cut) // 2
    for candidate in (para, line, space):
        if candidate is not None and candidate > enough:
            return candidate
    return fit


def split_text(
    text: str, *, limit: int = TEXT_LIMIT, first_limit: int | None = None, html: bool = True
) -> list[str]:
    """Split `text` into parts of at most `limit` (the first at most `first_limit`) units."""
    tokens = _tokenize(text, html)
    parts: list[str] = []
    pos = 0
    reopen: list[_Token] = []
    while pos < len(tokens):
        part_limit = first_limit if first_limit is not None and not parts else limit
        window = reopen + tokens[pos:]
        cut = _find_cut(window, len(reopen), part_limit)
        chunk = window[:cut]
        stack: list[_Token] = []
        for token in chunk:
            _apply(stack, token)
        pos += cut - len(reopen)
        if pos < len(tokens):
            # Drop the separator whitespace around the cut.
            while chunk and chunk[-1].is_space:
                chunk.pop()
            while pos < len(tokens) and tokens[pos].is_space:
                pos += 1
        body = "".join(t.text for t in chunk) + _closing(stack)
        if any(not (t.opens or t.closes or t.is_space) for t in chunk):
            parts.append(body)
        reopen = list(stack)
    return parts


def build_calls(chat_id: int, message: RenderedMessage) -> list[SendCall]:
    """The API calls that deliver `message`, in order; the keyboard goes on the last one."""
    media = message.photo or message.document or message.document_path
    if not media and not message.text.strip():
        raise ValueError("rendered message has neither text nor media")
    html = (message.parse_mode or "").lower() == "html"
    chunks = split_text(message.text, first_limit=CAPTION_LIMIT if media else None, html=html) or [
        ""
    ]
    calls: list[SendCall] = []
    last = len(chunks) - 1
    for index, chunk in enumerate(chunks):
        markup = message.reply_markup if index == last else None
        if index == 0 and message.photo:
            calls.append(
                SendPhoto(
                    chat_id=chat_id,
                    photo=message.photo,
                    caption=chunk or None,
                    parse_mode=message.parse_mode,
                    reply_markup=markup,
                )
            )
        elif index == 0 and (message.document or message.document_path):
            calls.append(
                SendDocument(
                    chat_id=chat_id,
                    document=message.document or FSInputFile(message.document_path),
                    caption=chunk or None,
                    parse_mode=message.parse_mode,
                    reply_markup=markup,
                )
            )
        else:
            calls.append(
                SendMessage(
                    chat_id=chat_id,
                    text=chunk,
                    parse_mode=message.parse_mode,
                    reply_markup=markup,
                )
            )
    return calls
