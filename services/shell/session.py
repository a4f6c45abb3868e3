"""One SSH session of the shell: an interactive prompt or a single ``exec`` command.

A reader thread moves the channel's input into a queue, so that ctrl-c reaches a running
command and the prompt can time out when the session is idle.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import paramiko

from services.common.paths import StateRoot
from services.shell.commands import REFUSED, SESSION_WORDS, candidates, execute
from services.shell.editor import LineEditor
from services.shell.runner import Context

log = logging.getLogger("diag-shell")
SEND_TIMEOUT = 60.0
#: Keys typed while a command runs wait for the prompt, up to this many bytes.
MAX_TYPEAHEAD = 64 * 1024
SIGNAL_KEYS = {0x1A: "ctrl-z", 0x1C: "ctrl-\\"}


class Session:
    """Serves one channel until the user leaves, the idle timeout passes or the peer goes."""

    def __init__(
        self,
        root: StateRoot,
        channel: paramiko.Channel,
        session_id: str,
        *,
        pty: bool,
        idle_timeout: float,
        hostname: str,
    ) -> None:
        self.root = root
        self.channel = channel
        self.id = session_id
        self.pty = pty
        self.idle_timeout = idle_timeout
        self.hostname = hostname
        self.inbox: queue.Queue[bytes | None] = queue.Queue()
        self.pending: list[bytes] = []
        self.closed = False
        self.input_ended = False
        self.editor = LineEditor(self.send, lambda before: candidates(self.context(), before))
        channel.settimeout(SEND_TIMEOUT)

    # --- channel I/O -------------------------------------------------------------------
    def _read(self) -> None:
        while True:
            try:
                data = self.channel.recv(4096)
            except TimeoutError:
                if self.closed:
                    break
                continue
            except (OSError, EOFError, paramiko.SSHException):
                data = b""
            if not data:
                self.inbox.put(None)
                return

            self.inbox.put(data)

    def send(self, text: str) -> None:
        """Raw terminal output (the editor's echo, already with CR LF)."""
        if not self.closed:
            try:
                self.channel.sendall(text.encode("utf-8", "replace"))
            except (OSError, EOFError, paramiko.SSHException):
                self.closed = True

    def output(self, text: str) -> None:
        """A command's output: LF becomes CR LF on a terminal."""
        self.send(text.replace("\n", "\r\n") if self.pty else text)

    def interrupted(self) -> bool:
        """True on ctrl-c or a gone peer; other input waits for the prompt."""
        if self.closed or self._peer_gone():
            return True
        if self.input_ended:
            return False
        while True:
            try:
                data = self.inbox.get_nowait()
            except queue.Empty:
                return False
            if data is None:
                # The client sent EOF (ssh with its stdin at end): that alone stops nothing.
                self.input_ended = True
                return self._peer_gone()
            if b"\x03" in data:
                return True
            for code, name in SIGNAL_KEYS.items():
                if code in data:
                    self.output(f"refused: {name} is not accepted (ctrl-c stops the command)\n")
                    data = data.replace(bytes([code]), b"")
            if data and sum(map(len, self.pending)) < MAX_TYPEAHEAD:
                self.pending.append(data)

    def _peer_gone(self) -> bool:
        transport = self.channel.get_transport()
        if self.channel.closed or transport is None or not transport.is_active():
            self.closed = True
        return self.closed

    def context(self) -> Context:
        return Context(self.root, self.output, self.interrupted, self.id)

    # --- modes -------------------------------------------------------------------------
    def run_exec(self, command: str) -> int:
        threading.Thread(target=self._read, daemon=True, name=f"read-{self.id}").start()
        if not command.strip():
            self.output("refused: an empty command; try 'help'\n")
            log.info("session %s refused an empty exec request", self.id)
            status = REFUSED
        elif command.split()[0] in SESSION_WORDS:
            self.output(f"refused: {command.split()[0]!r} is for interactive sessions\n")
            status = REFUSED
        else:
            status = execute(self.context(), command)
        self.finish(status)
        return status

    def run_shell(self) -> None:
        threading.Thread(target=self._read, daemon=True, name=f"read-{self.id}").start()
        self.send(
            f"Burrow diagnostic shell on {self.hostname} (read-only). "
            "Type 'help' for the commands, Tab to complete.\r\n"
        )
        self.editor.start()
        last_input = time.monotonic()
        while not self.closed:
            if self.pending:
                data: bytes | None = self.pending.pop(0)
            else:
                wait = self.idle_timeout - (time.monotonic() - last_input)
                try:
                    data = self.inbox.get(timeout=max(wait, 0.01))
                except queue.Empty:
                    self.send(f"\r\nidle for {self.idle_timeout:g} s: closing the session\r\n")
                    log.info("session %s closed after %g s idle", self.id, self.idle_timeout)
                    break
            if data is None:
                break
            last_input = time.monotonic()
            self.editor.feed(data)
            if not self._handle_events():
                break
            last_input = time.monotonic()
        self.finish(0)

    def _handle_events(self) -> bool:
        """Work through typed lines; False when the session should end."""
        while (event := self.editor.next_event()) is not None:
            if event.kind == "eof":
                return False
            if event.kind == "overflow":
                log.info("session %s refused a line of %d characters", self.id, len(event.text))
                self.editor.start()
            elif event.kind == "line":
                word = event.text.split()[0] if event.text.split() else ""
                if word in ("exit", "quit", "logout") and len(event.text.split()) == 1:
                    return False
                if word == "history" and len(event.text.split()) == 1:
                    for n, line in enumerate(self.editor.history, 1):
                        self.output(f"{n:4d}  {line}\n")
                elif word == "clear" and len(event.text.split()) == 1:
                    self.send("\x1b[H\x1b[2J")
                else:
                    execute(self.context(), event.text)
                if self.closed:
                    return False
                self.editor.start()
        return True

    def finish(self, status: int) -> None:
        try:
            self.channel.send_exit_status(status)
        except (OSError, EOFError, paramiko.SSHException):
            pass
        self.closed = True
        try:
            self.channel.shutdown_write()
        except (OSError, EOFError, paramiko.SSHException):
            pass
        self.channel.close()
