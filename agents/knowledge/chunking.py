"""Split text into chunks of about ``size`` characters sharing ``overlap`` characters with
the previous one, cut at a paragraph end if one is near, else a sentence end, else a
space.  Every chunk is exactly ``text[start:end]``, so a hit points back into the source."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[.!?;:][\"')\]]*\s")


@dataclass(frozen=True)
class Piece:
    start: int
    end: int
    text: str


def chunk_text(text: str, *, size: int, overlap: int) -> list[Piece]:
    if size <= 0 or overlap < 0 or overlap >= size:
        raise ValueError("size must be positive and overlap smaller than size")
    pieces: list[Piece] = []
    n = len(text)
    pos = _skip_space(text, 0)
    while pos < n:
        end = n if pos + size >= n else _cut(text, pos, pos + size)
        start, stop = pos, end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start:
            pieces.append(Piece(start, stop, text[start:stop]))
        if end >= n:
            break
        pos = max(_next_start(text, end - overlap, end), pos + 1)
        pos = _skip_space(text, pos)
    return pieces


def _cut(text: str, start: int, limit: int) -> int:
    """The best end in (start + half a chunk, limit]: no chunk shrinks below half size."""
    floor = start + (limit - start) // 2
    paragraph = text.rfind("\n\n", floor, limit)
    if paragraph != -1:
        return paragraph + 2
    last = None
    for match in _SENTENCE_END.finditer(text, floor, limit + 1):
        last = match
    if last is not None:
        return last.end()
    space = max(text.rfind(" ", floor, limit), text.rfind("\n", floor, limit))
    return space + 1 if space != -1 else limit


def _next_start(text: str, wanted: int, end: int) -> int:
    """Start the overlap on a word: move forward past a word cut in two, not past ``end``."""
    if wanted <= 0:
        return 0
    if text[wanted - 1].isspace() or not text[wanted].isalnum():
        return wanted
    i = wanted
    while i < end and not text[i].isspace():
        i += 1
    return i if i < end else wanted


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos
