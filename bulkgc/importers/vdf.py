"""A small, strict reader of Valve's text KeyValues (VDF) files, with file:line in every error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bulkgc.errors import Problem

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}
# Characters that end an unquoted token (Valve's tokenizer stops at whitespace, quotes and braces).
_UNQUOTED_STOP = set(' \t\r\n"{}')
MAX_DEPTH = 32  # Steam's files nest 3 deep; a bound keeps hostile input from exhausting the stack


@dataclass
class VdfBlock:
    """One `{ ... }` block: its entries in file order as (key, value, line); a value is a str or a block."""

    line: int
    entries: list[tuple[str, str | VdfBlock, int]] = field(default_factory=list)

    def get(self, key: str) -> tuple[str | VdfBlock, int] | None:
        """The value and line of `key` (keys compare case-insensitively, as Valve's do), or None."""
        folded = key.casefold()
        for name, value, line in self.entries:
            if name.casefold() == folded:
                return value, line
        return None


class VdfSyntaxError(Exception):
    """The file is not valid VDF; `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def decode_text(raw: bytes, display: str) -> str:
    """Text of a VDF (or any text) file: UTF-8 (BOM allowed) or UTF-16 with a BOM, as Steam writes it."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            why = f"not valid UTF-16 ({exc.reason}); save the file as UTF-8"
            raise VdfSyntaxError(Problem(display, why)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise VdfSyntaxError(
            Problem(f"{display}:{line}", f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


class _Reader:
    """Tokenizer + recursive-descent parser over one file's text."""

    def __init__(self, text: str, display: str) -> None:
        self.text = text
        self.display = display
        self.pos = 0
        self.line = 1
        self.duplicates: list[Problem] = []

    def fail(self, line: int, message: str) -> VdfSyntaxError:
        return VdfSyntaxError(Problem(f"{self.display}:{line}", message))

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\n":
                self.line += 1
                self.pos += 1
            elif char in " \t\r":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def token(self) -> tuple[str, str, int] | None:
        """The next token as (kind, text, line): kind is 'str', '{' or '}'; None at the end of the file."""
        self.skip_space()
        if self.pos >= len(self.text):
            return None
        start_line, char = self.line, self.text[self.pos]
        if char in "{}":
            self.pos += 1
            return char, char, start_line
        if char == '"':
            return "str", self.quoted(start_line), start_line
        if char == "[":
            raise self.fail(start_line, "conditional ([$...]) entries are not supported; remove them")
        end = self.pos
        while end < len(self.text) and self.text[end] not in _UNQUOTED_STOP:
            end += 1
        word, self.pos = self.text[self.pos : end], end
        return "str", word, start_line

    def quoted(self, start_line: int) -> str:
        text, out = self.text, list[str]()
        self.pos += 1
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                self.pos += 2
                continue
            if char == "\n":
                self.line += 1
            out.append(char)
            self.pos += 1
        raise self.fail(
            start_line, 'a quoted string is never closed (the file may be truncated); add the closing "'
        )

    def block(self, line: int, top: bool, depth: int = 0) -> VdfBlock:
        if depth > MAX_DEPTH:
            raise self.fail(line, f"blocks nested more than {MAX_DEPTH} deep; not a localization file")
        block, seen = VdfBlock(line), dict[str, int]()
        while True:
            tok = self.token()
            if tok is None:
                if top:
                    return block
                raise self.fail(line, "this block's { is never closed (the file may be truncated); add the }")
            kind, key, key_line = tok
            if kind == "}":
                if top:
                    raise self.fail(key_line, "a } closes nothing; remove it")
                return block
            if kind == "{":
                raise self.fail(key_line, 'a { where a key was expected; write "key" { ... }')
            value_tok = self.token()
            if value_tok is None:
                raise self.fail(key_line, f"key {key!r} has no value (the file may be truncated)")
            value_kind, value_text, value_line = value_tok
            value: str | VdfBlock
            if value_kind == "{":
                value = self.block(value_line, top=False, depth=depth + 1)
            elif value_kind == "}":
                raise self.fail(value_line, f"key {key!r} has no value before this }}")
            else:
                value = value_text
            folded = key.casefold()
            if folded in seen:
                self.duplicates.append(
                    Problem(
                        f"{self.display}:{key_line}",
                        f"key {key!r} appears twice in one block (first at line {seen[folded]}); keep one",
                    )
                )
            else:
                seen[folded] = key_line
            block.entries.append((key, value, key_line))


def parse_vdf(text: str, display: str) -> tuple[VdfBlock, list[Problem]]:
    """Parse VDF text -> (top-level block, duplicate-key problems); VdfSyntaxError on a syntax error."""
    reader = _Reader(text, display)
    top = reader.block(1, top=True)
    return top, reader.duplicates


def load_vdf(path: Path, display: str) -> tuple[VdfBlock, list[Problem]]:
    """Read and parse one VDF file; unreadable files raise VdfSyntaxError naming the file and the fix."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise VdfSyntaxError(Problem(display, "file not found; check the path")) from None
    except OSError as exc:
        raise VdfSyntaxError(Problem(display, f"cannot read the file ({exc.strerror or exc})")) from None
    return parse_vdf(decode_text(raw, display), display)
