"""Line numbers of JSON array elements, which `json.loads` does not keep, so problems can say file:line."""

from __future__ import annotations

import json
import re

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def element_lines(text: str, path: tuple[str, ...]) -> list[int]:
    """The 1-based line where each element of the array at `path` (object keys from the top) begins.

    Call it only on text `json.loads` accepted; [] when there is no array at `path`.
    """
    lines: list[int] = []
    try:
        _walk(text, 0, (), path, lines)
    except (ValueError, IndexError, RecursionError):  # cannot happen on valid JSON; lines are only a hint
        return []
    return lines


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _walk(text: str, pos: int, path: tuple[str, ...], target: tuple[str, ...], out: list[int]) -> int:
    """Skip the value at `pos` (recording element lines of the target array); return the position after it."""
    pos = _skip(text, pos)
    char = text[pos]
    if char == "{":
        pos = _skip(text, pos + 1)
        if text[pos] == "}":
            return pos + 1
        while True:
            key, pos = _DECODER.raw_decode(text, _skip(text, pos))
            pos = _skip(text, pos) + 1  # the ':'
            pos = _skip(text, _walk(text, pos, (*path, str(key)), target, out))
            if text[pos] == "}":
                return pos + 1
            pos += 1  # the ','
    if char == "[":
        pos = _skip(text, pos + 1)
        if text[pos] == "]":
            return pos + 1
        while True:
            pos = _skip(text, pos)
            if path == target:
                out.append(text.count("\n", 0, pos) + 1)
            pos = _skip(text, _walk(text, pos, (*path, "[]"), target, out))
            if text[pos] == "]":
                return pos + 1
            pos += 1
    _, end = _DECODER.raw_decode(text, pos)
    return int(end)
