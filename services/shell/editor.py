"""A small line editor for the SSH channel: editing keys, history and tab completion.

Keys: printable characters insert; Backspace, Delete, Left/Right, Home/End (also ctrl-a,
ctrl-e, ctrl-b, ctrl-f), Up/Down (also ctrl-p, ctrl-n) through history, ctrl-u, ctrl-k and
ctrl-w kill, ctrl-l redraws, Tab completes, ctrl-c drops the line, ctrl-d on an empty line
ends the session. Any other control character is refused with a one-line notice and never
enters the line.
"""

from __future__ import annotations

import codecs
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from services.shell.syntax import MAX_LINE, describe_char

Completer = Callable[[str], tuple[str, list[str]]]
HISTORY_SIZE = 200
CONTROL_NAMES = {0x1A: "ctrl-z", 0x1C: "ctrl-\\", 0x00: "NUL", 0x13: "ctrl-s", 0x11: "ctrl-q"}


def common_prefix(words: list[str]) -> str:
    """The longest text that every word starts with."""
    if not words:
        return ""
    first, last = min(words), max(words)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


@dataclass(frozen=True)
class Event:
    """What keys led to: ``line`` (with ``text``), ``overflow`` (a refused long line),
    ``eof`` or ``cancel``."""

    kind: str
    text: str = ""


class LineEditor:
    """Turns the bytes a terminal sends into edited lines, echoing as it goes."""

    def __init__(self, write: Callable[[str], None], complete: Completer) -> None:
        self.write = write
        self.complete = complete
        self.prompt = "diag> "
        self.history: list[str] = []
        self.buffer: list[str] = []
        self.cursor = 0
        self.overflow = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._escape = ""
        self._browse: int | None = None
        self._saved: list[str] = []
        self._last_cr = False
        self._pending: deque[str] = deque()

    # --- drawing ------------------------------------------------------------------------
    def start(self) -> None:
        self.buffer, self.cursor, self.overflow, self._browse = [], 0, False, None
        self.write(self.prompt)

    def redraw(self) -> None:
        text = "".join(self.buffer)
        back = len(self.buffer) - self.cursor
        self.write("\r" + self.prompt + text + "\x1b[K" + (f"\x1b[{back}D" if back else ""))

    def notice(self, message: str) -> None:
        """A line of its own above the prompt, then the line being edited again."""
        self.write("\r\x1b[K" + message + "\r\n")
        self.redraw()

    # --- input ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Take bytes from the terminal; :meth:`next_event` then works through them."""
        self._pending.extend(self._decoder.decode(data))

    def next_event(self) -> Event | None:
        """Process typed keys up to the next finished line, cancel or end of input."""
        while self._pending:
            event = self._key(self._pending.popleft())
            if event is not None:
                return event
        return None

    def _key(self, ch: str) -> Event | None:
        if self._escape:
            return self._escape_key(ch)
        code = ord(ch)
        if ch == "\n" and self._last_cr:
            self._last_cr = False
            return None
        self._last_cr = ch == "\r"
        if ch in "\r\n":
            return self._submit()
        if ch == "\x1b":
            self._escape = ch
            return None
        if code == 0x03:
            self.write("^C\r\n")
            self.start()
            return Event("cancel")
        if code == 0x04:
            if not self.buffer:
                self.write("\r\n")
                return Event("eof")
            self._delete()
        elif code in (0x7F, 0x08):
            if self.cursor:
                self.cursor -= 1
                del self.buffer[self.cursor]
                self.redraw()
        elif ch == "\t":
            self._complete()
        elif code == 0x01:
            self.cursor = 0
            self.redraw()
        elif code == 0x05:
            self.cursor = len(self.buffer)
            self.redraw()
        elif code == 0x02:
            self._move(-1)
        elif code == 0x06:
            self._move(1)
        elif code == 0x10:
            self._recall(-1)
        elif code == 0x0E:
            self._recall(1)
        elif code == 0x15:
            del self.buffer[: self.cursor]
            self.cursor = 0
            self.redraw()
        elif code == 0x0B:
            del self.buffer[self.cursor :]
            self.redraw()
        elif code == 0x17:
            start = self.cursor
            while start and self.buffer[start - 1] == " ":
                start -= 1
            while start and self.buffer[start - 1] != " ":
                start -= 1
            del self.buffer[start : self.cursor]
            self.cursor = start
            self.redraw()
        elif code == 0x0C:
            self.write("\x1b[H\x1b[2J")
            self.redraw()
        elif code < 0x20 or 0x7F <= code <= 0x9F or not ch.isprintable():
            name = CONTROL_NAMES.get(code) or (
                f"ctrl-{chr(code + 0x60)}" if code < 0x20 else describe_char(ch)
            )
            self.notice(
                f"refused: {name} is not accepted (no job control or signals; "
                "ctrl-c cancels, ctrl-d leaves)"
            )
        else:
            self._insert(ch)
        return None

    def _escape_key(self, ch: str) -> Event | None:
        self._escape += ch
        seq = self._escape
        if len(seq) == 2:
            if ch in "[O":
                return None
            self._escape = ""  # a lone ESC or alt-key: ignored
            return None
        if "\x40" <= ch <= "\x7e" and (len(seq) > 2):
            self._escape = ""
            final = seq[2:]
            actions: dict[str, Callable[[], None]] = {
                "A": lambda: self._recall(-1),
                "B": lambda: self._recall(1),
                "C": lambda: self._move(1),
                "D": lambda: self._move(-1),
                "H": self._home,
                "F": self._end,
                "1~": self._home,
                "7~": self._home,
                "4~": self._end,
                "8~": self._end,
                "3~": self._delete,
            }
            action = actions.get(final)
            if action is not None:
                action()
            return None  # other keys (F1..F12, bracketed paste marks) are ignored
        if len(seq) > 16:
            self._escape = ""
        return None

    # --- editing -------------------------------------------------------------------------
    def _insert(self, ch: str) -> None:
        if len(self.buffer) >= MAX_LINE:
            self.overflow = True
            return
        self.buffer.insert(self.cursor, ch)
        self.cursor += 1
        if self.cursor == len(self.buffer):
            self.write(ch)
        else:
            self.redraw()

    def _delete(self) -> None:
        if self.cursor < len(self.buffer):
            del self.buffer[self.cursor]
            self.redraw()

    def _move(self, step: int) -> None:
        new = min(max(self.cursor + step, 0), len(self.buffer))
        if new != self.cursor:
            self.cursor = new
            self.redraw()

    def _home(self) -> None:
        self.cursor = 0
        self.redraw()

    def _end(self) -> None:
        self.cursor = len(self.buffer)
        self.redraw()

    def _recall(self, step: int) -> None:
        if not self.history:
            return
        if self._browse is None:
            if step > 0:
                return
            self._saved = list(self.buffer)
            index = len(self.history) - 1
        else:
            index = self._browse + step
        if index < 0:
            return
        if index >= len(self.history):
            self._browse = None
            self.buffer = list(self._saved)
        else:
            self._browse = index
            self.buffer = list(self.history[index])
        self.cursor = len(self.buffer)
        self.redraw()

    def _complete(self) -> None:
        before = "".join(self.buffer[: self.cursor])
        current, options = self.complete(before)
        if not options:
            self.write("\a")
            return
        if len(options) == 1:
            addition = options[0][len(current) :] + " "
        else:
            addition = common_prefix(options)[len(current) :]
            if not addition:
                self.write("\r\n" + "  ".join(options) + "\r\n")
                self.redraw()
                return
        for ch in addition:
            self._insert(ch)

    def _submit(self) -> Event:
        self.write("\r\n")
        line = "".join(self.buffer)
        if self.overflow:
            self.write(f"refused: the line is longer than {MAX_LINE} characters\r\n")
            self.buffer, self.cursor, self.overflow = [], 0, False
            return Event("overflow", line)
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history.append(line)
            del self.history[:-HISTORY_SIZE]
        self.buffer, self.cursor = [], 0
        return Event("line", line)
