"""The console script on a pseudo-terminal, as a person at a keyboard uses it.

Standard input, output and error are the pty's other end, so readline, the
spinner and colour all see a terminal. Every read has a deadline and the child
is killed at the end of each test whatever happened.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Optional

import pytest
from test_cli import COMMAND

pytestmark = [
    pytest.mark.skipif(not COMMAND, reason="the console script is not installed"),
    pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals need a POSIX system"),
]

LEFT, UP = "\x1b[D", "\x1b[A"
CTRL_D = "\x04"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Terminal:
    """A child process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, args: List[str], env: Dict[str, str]) -> None:
        import pty

        master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [COMMAND, *args], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.seen = b""

    @property
    def text(self) -> str:
        return self.seen.decode("utf-8", "replace")

    @property
    def plain(self) -> str:
        """What was shown, without escape sequences and carriage returns."""
        return _ANSI.sub("", self.text)

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def press(self, keys: str) -> None:
        """Wait for the prompt (readline has the terminal then), and press keys."""
        self.expect(r"> $")
        self.send(keys)

    def answer(self, line: str) -> None:
        self.press(line + "\r")

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, min(0.2, deadline - time.monotonic())))
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.seen += data
        return bool(data)

    def expect(self, pattern: str, timeout: float = 30) -> None:
        """Wait until the plain text shown so far matches ``pattern`` (a regex)."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.plain):
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(f"{pattern!r} not shown; the terminal shows:\n{self.text!r}")

    def finish(self, timeout: float = 30) -> int:
        """Read everything until the child exits; its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(deadline):
            pass
        return self.process.wait(timeout=max(1.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def terminal(fake, tmp_path) -> Iterator:
    opened: List[Terminal] = []
    home = {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }

    def start(*args: str, env: Optional[Dict[str, str]] = None) -> Terminal:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NO_COLOR"))}
        full = {
            **base,
            **home,
            "TERM": "xterm",
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "sk-test",
        }
        opened.append(Terminal(list(args), {**full, **(env or {})}))
        return opened[-1]

    start.state = tmp_path / "state" / "openai-bindings"  # type: ignore[attr-defined]
    start.config = tmp_path / "config" / "openai-bindings"  # type: ignore[attr-defined]
    yield start
    for term in opened:
        term.close()


def sent(fake) -> List[str]:
    return [r.json["messages"][-1]["content"] for r in fake.requests if r.path == "/v1/chat/completions"]


def test_no_arguments_on_a_terminal_starts_a_conversation(terminal, fake):
    term = terminal()
    term.expect(r"Chatting with .*/exit or Ctrl-D")
    term.answer("hello there")
    term.expect("echo: hello there")
    term.press(CTRL_D)
    assert term.finish() == 0
    assert sent(fake) == ["hello there"]


def test_arrow_keys_edit_the_line_and_history_is_kept(terminal, fake):
    term = terminal("chat")
    term.answer(f"helo{LEFT}l")  # left arrow, then the missing "l" goes before the "o"
    term.expect("echo: hello")
    term.press(CTRL_D)
    assert term.finish() == 0
    assert sent(fake) == ["hello"]
    history = terminal.state / "history"
    assert "hello" in history.read_text() and history.stat().st_mode & 0o777 == 0o600

    term = terminal("chat")  # a new run: the up arrow brings the last line back
    term.answer(f"{UP} again")
    term.expect("echo: hello again")
    term.answer("/exit")
    assert term.finish() == 0
    assert sent(fake) == ["hello", "hello again"]
    assert not any("\x1b" in text for text in sent(fake))


def test_slash_commands_on_a_terminal(terminal, fake):
    term = terminal("chat")
    term.answer("first")
    term.expect("echo: first")
    term.answer("/history")
    term.expect("assistant: echo: first")
    term.answer("/nope")
    term.expect(r"unknown command /nope; not sent(.|\n)*/reset")
    term.answer("/reset")
    term.expect("a new conversation")
    term.answer("second")
    term.expect("echo: second")
    term.answer("/quit")
    assert term.finish() == 0
    assert [r.json["messages"] for r in fake.requests][-1] == [{"role": "user", "content": "second"}]
    assert sent(fake) == ["first", "second"]


def test_the_spinner_turns_while_waiting_and_is_erased(terminal, fake):
    fake.delay_next(1.0)
    term = terminal("--no-stream", "hi")
    assert term.finish() == 0
    assert "| waiting for the answer" in term.text and "\x1b[2m" in term.text  # dim, on a terminal
    spinner_ends = term.text.rindex("waiting for the answer")
    erased = term.text.index("\r\x1b[K", spinner_ends)
    assert term.text.index("echo: hi") > erased  # the answer comes after the spinner's line is cleared
    assert term.plain.strip().endswith("echo: hi")


def test_no_color_keeps_the_spinner_plain(terminal, fake):
    fake.delay_next(0.5)
    term = terminal("--no-stream", "hi", env={"NO_COLOR": "1"})
    assert term.finish() == 0
    assert "waiting for the answer" in term.text and "\x1b[2m" not in term.text


def test_keys_set_asks_without_echo(terminal):
    term = terminal("keys", "set", "openai")
    term.expect("not shown")
    term.send("sk-typed-secret\r")
    assert term.finish() == 0
    assert "sk-typed-secret" not in term.text
    stored = terminal.config / "keys.json"
    assert '"openai": "sk-typed-secret"' in stored.read_text()
    assert stored.stat().st_mode & 0o777 == 0o600
