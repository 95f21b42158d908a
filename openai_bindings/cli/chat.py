"""``openai-bindings chat`` (the default command): one prompt, or a conversation.

The prompt comes from the arguments, standard input, or both (``cat notes.txt |
openai-bindings chat "Summarise:"`` sends the words, a blank line, then the notes).
Every conversation is saved in the user's state directory after each answer, so
``-c`` goes on with the last one. On a terminal the conversation has readline
editing and history, and a few ``/commands`` that are handled here, never sent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TextIO

from ..errors import OpenAIError
from ..keys import state_dir, write_private_json
from ..sessions import ResponseObject
from .common import UsageError, describe, make_client
from .terminal import Spinner, line_editing

__all__ = ["SLASH_COMMANDS", "chat", "conversation_path", "history_path"]

CHAT, RESPONSES = "chat", "responses"
FORMAT = 1

SLASH_COMMANDS = {
    "/help": "show these commands",
    "/reset": "forget the conversation and start a new one (same model and options)",
    "/history": "show the conversation so far",
    "/exit": "leave (Ctrl-D too)",
    "/quit": "leave",
}
_ESCAPE = "//"  # a line that starts with it is sent with one slash less


def conversation_path() -> Path:
    return state_dir() / "last-conversation.json"


def history_path() -> Path:
    return state_dir() / "history"


# -- what is sent ------------------------------------------------------------------------------------


def option_value(text: str) -> Any:
    """``-o`` values: JSON when they parse (0.2, true, ["x"], {"a": 1}), the string as given otherwise."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _options(args: argparse.Namespace, api: str) -> Dict[str, Any]:
    """Session options from the flags (``-s`` is handled with the history: it is a message in chat)."""
    options: Dict[str, Any] = {}
    for key, value in args.option or ():
        if key in ("stream", "stream_callback"):
            raise UsageError("-o stream is chosen by the command: leave it out, or use --no-stream")
        options[key] = option_value(value)
    if args.model:
        options["model"] = args.model
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.system and api == RESPONSES:
        options["instructions"] = args.system
    return options


def _read_stdin() -> str:
    if sys.stdin is None:
        return ""
    try:
        return sys.stdin.read().strip()
    except UnicodeDecodeError:
        raise UsageError("standard input is not text; attach a file with -a FILE instead") from None


def _prompt(args: argparse.Namespace) -> Optional[str]:
    """The words, and piped standard input joined after them (``-i`` reads turns from it instead)."""
    words = " ".join(args.prompt).strip() if args.prompt else ""
    piped = ""
    if not args.interactive and sys.stdin is not None and not sys.stdin.isatty():
        piped = _read_stdin()
        if not words and not piped:
            raise UsageError("nothing to send: the prompt on standard input was empty")
    return "\n\n".join(part for part in (words, piped) if part) or None


def attachment_parts(sources: List[str], api: str) -> List[Dict[str, Any]]:
    """Content parts for ``-a`` files and URLs: the library's multimodal helpers pick the kind."""
    from ..parts import content_part

    parts = []
    for source in sources:
        if not source.startswith(("http://", "https://", "data:")) and not os.path.isfile(source):
            raise UsageError(f"cannot attach {source!r}: no such file (give a path or an http(s) URL)")
        try:
            parts.append(content_part(source, responses=api == RESPONSES))
        except (TypeError, ValueError) as error:
            raise UsageError(f"cannot attach {source!r}: {error}") from None
    return parts


def _user_input(text: str, parts: List[Dict[str, Any]], api: str) -> Any:
    """What one user turn sends: the text alone, or the text and the attachments' parts."""
    if not parts:
        return text
    if api == RESPONSES:
        words = [{"type": "input_text", "text": text}] if text else []
        return [{"role": "user", "content": [*words, *parts]}]
    return {"role": "user", "content": [*([{"type": "text", "text": text}] if text else []), *parts]}


# -- the conversation, saved and restored ------------------------------------------------------------


# TODO(lead): session.to_dict
def _session_to_dict(session: Any, api: str) -> Dict[str, Any]:
    if api == RESPONSES:
        return {
            "options": session.options,
            "current_response_id": session.current_response_id,
            "local_history": session.local_history,
            "items": session.items,
        }
    return {"options": session.options, "messages": session.messages}


# TODO(lead): ChatSession.from_dict / ResponsesChatSession.from_dict
def _session_from_dict(client: Any, api: str, data: Dict[str, Any]) -> Any:
    options = dict(data.get("options") or {})
    if api == RESPONSES:
        session = client.new_responses_chat_session(
            previous_response_id=data.get("current_response_id"),
            local_history=data.get("local_history"),
            **options,
        )
        session.items = list(data.get("items") or ())
        return session
    return client.new_chat_session(data.get("messages") or None, **options)


class Conversation:
    """A session, which API it speaks, and the transcript ``/history`` shows; saved after each answer."""

    def __init__(self, client: Any, api: str, session: Any, transcript: List[Dict[str, str]]) -> None:
        self.client = client
        self.api = api
        self.session = session
        self.transcript = transcript

    @classmethod
    def start(cls, client: Any, args: argparse.Namespace, api: str) -> Conversation:
        options = _options(args, api)
        if api == RESPONSES:
            return cls(client, api, client.new_responses_chat_session(**options), [])
        system = [{"role": "system", "content": args.system}] if args.system else None
        return cls(client, api, client.new_chat_session(system, **options), [])

    @classmethod
    def resume(cls, client: Any, args: argparse.Namespace, saved: Dict[str, Any]) -> Conversation:
        """The saved conversation, with the options given now laid over the saved ones."""
        api = saved["api"]
        session = _session_from_dict(client, api, saved.get("session") or {})
        session.options.update(_options(args, api))
        if args.system and api == CHAT:
            messages = session.messages
            system = {"role": "system", "content": args.system}
            if messages and messages[0].get("role") == "system":
                messages[0] = system
            else:
                messages.insert(0, system)
        return cls(client, api, session, list(saved.get("transcript") or ()))

    def reset(self) -> None:
        """Forget the turns, keep the options (and the system prompt)."""
        if self.api == RESPONSES:
            self.session = self.client.new_responses_chat_session(**self.session.options)
        else:
            system = [m for m in self.session.messages[:1] if m.get("role") == "system"]
            self.session = self.client.new_chat_session(system or None, **self.session.options)
        self.transcript = []
        self.save()

    def send(self, text: str, attachments: List[str], stream: Optional[Callable[[Any], None]]) -> Any:
        parts = attachment_parts(attachments, self.api) if attachments else []
        if stream is None:
            with Spinner(sys.stderr):
                reply = self.session.send(_user_input(text, parts, self.api))
        else:
            reply = self.session.send(_user_input(text, parts, self.api), stream)
        shown = text + "".join(f" [attached: {os.path.basename(a)}]" for a in attachments)
        self.transcript += [{"role": "user", "text": shown}, {"role": "assistant", "text": _text(reply)}]
        self.save()
        return reply

    def save(self) -> None:
        """Keep the conversation for ``-c``; failing to is said, and does not lose the answer."""
        path = conversation_path()
        state = {
            "format": FORMAT,
            "api": self.api,
            "provider": self.client.provider.name,
            "session": _session_to_dict(self.session, self.api),
            "transcript": self.transcript,
        }
        try:
            write_private_json(path, state)
        except OSError as error:
            sys.stderr.write(
                f"openai-bindings: the conversation was not saved for -c ({path}): "
                f"{error.strerror or error}\n"
            )


def _saved() -> Dict[str, Any]:
    path = conversation_path()
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            'no conversation to continue yet: start one with `openai-bindings "your prompt"`'
        ) from None
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the last conversation ({path}): {error}; start a new one") from None
    if (
        not isinstance(saved, dict)
        or saved.get("format") != FORMAT
        or saved.get("api") not in (CHAT, RESPONSES)
    ):
        raise UsageError(f"the last conversation ({path}) is from another version; start a new one")
    return saved


def _text(reply: Any) -> str:
    """A reply as printed: chat's text, a response's text, or a tool-call message as JSON."""
    if reply is None or isinstance(reply, str):
        return reply or ""
    if isinstance(reply, ResponseObject):
        return reply.output_text
    return json.dumps(reply) if isinstance(reply, dict) else str(reply)


# -- the command --------------------------------------------------------------------------------------


def _printer(out: TextIO) -> Callable[[Any], None]:
    def show(chunk: Any) -> None:
        out.write(str(chunk))
        out.flush()

    return show


def chat(args: argparse.Namespace, out: TextIO) -> int:
    saved = _saved() if args.continue_ else None
    api = RESPONSES if args.responses else CHAT
    if saved is not None:
        if args.responses and saved["api"] != RESPONSES:
            raise UsageError("the last conversation used chat completions: drop --responses to continue it")
        api = saved["api"]
    if args.json and saved is not None:
        raise UsageError("--json prints one raw response and does not continue conversations; drop -c")
    prompt = _prompt(args)
    client = make_client(args, provider=saved.get("provider") if saved else None)
    if args.json:
        if prompt is None:
            raise UsageError("--json needs a prompt (as an argument or on standard input)")
        return _raw(args, client, api, prompt, out)
    conversation = (
        Conversation.resume(client, args, saved) if saved else Conversation.start(client, args, api)
    )
    if prompt is not None and not args.interactive:
        _turn(conversation, prompt, list(args.attach or ()), not args.no_stream, out)
        return 0
    return _interactive(conversation, args, prompt, out)


def _turn(conversation: Conversation, text: str, attachments: List[str], stream: bool, out: TextIO) -> None:
    reply = conversation.send(text, attachments, _printer(out) if stream else None)
    if not stream:
        out.write(_text(reply))
    out.write("\n")
    out.flush()


def _raw(args: argparse.Namespace, client: Any, api: str, prompt: str, out: TextIO) -> int:
    """``--json``: the final response exactly as the API sent it."""
    params = _options(args, api)
    user = _user_input(prompt, attachment_parts(list(args.attach or ()), api), api)
    with Spinner(sys.stderr):
        if api == RESPONSES:
            body = client.create_response(user, **params).body
        else:
            system = [{"role": "system", "content": args.system}] if args.system else []
            message = {"role": "user", "content": user} if isinstance(user, str) else user
            body = client.create_chat_completion([*system, message], **params).body
    out.write(json.dumps(body, indent=2) + "\n")
    return 0


def _help(out: TextIO) -> None:
    for name, text in SLASH_COMMANDS.items():
        out.write(f"  {name:<9} {text}\n")
    out.write(f"  A line that starts with {_ESCAPE} is sent with one slash less.\n")


def _interactive(
    conversation: Conversation, args: argparse.Namespace, first: Optional[str], out: TextIO
) -> int:
    terminal = sys.stdin is not None and sys.stdin.isatty()
    client = conversation.client
    sys.stderr.write(
        f"Chatting with {conversation.session.options.get('model') or client.default_model or 'the server'} "
        f"({client.provider.name}, {client.transport.name}). /help for commands, /exit or Ctrl-D to leave.\n"
    )
    attachments: List[str] = list(args.attach or ())  # they go with the first turn
    with line_editing(history_path()) if terminal else contextlib.nullcontext():
        if first is not None:
            _safe_turn(conversation, first, attachments, args, out)
            attachments = []
        while True:
            try:
                line = input("> " if terminal else "")
            except EOFError:
                out.write("\n")
                return 0
            text = line.strip()
            if not text:
                continue
            if text.startswith("/") and not text.startswith(_ESCAPE):
                if _slash(text, conversation, out):
                    return 0
                continue
            if text.startswith(_ESCAPE):
                text = text[1:]
            if _safe_turn(conversation, text, attachments, args, out):
                attachments = []


def _safe_turn(
    conversation: Conversation, text: str, attachments: List[str], args: argparse.Namespace, out: TextIO
) -> bool:
    """One turn; a failed one is reported and the conversation goes on (False: not sent)."""
    try:
        _turn(conversation, text, attachments, not args.no_stream, out)
    except (OpenAIError, UsageError) as error:
        sys.stderr.write(f"error: {describe(error, args)}\n")
        return False
    return True


def _slash(text: str, conversation: Conversation, out: TextIO) -> bool:
    """Run a /command here (True: leave). An unknown one is refused, never sent."""
    command = text.split()[0].lower()
    if command in ("/exit", "/quit"):
        return True
    if command == "/help":
        _help(out)
    elif command == "/reset":
        conversation.reset()
        sys.stderr.write("(a new conversation)\n")
    elif command == "/history":
        for entry in conversation.transcript:
            out.write(f"{entry['role']}: {entry['text']}\n")
        if not conversation.transcript:
            sys.stderr.write("(nothing yet)\n")
    else:
        sys.stderr.write(f"unknown command {command}; not sent. Commands:\n")
        _help(sys.stderr)
    out.flush()
    return False
