"""The ``openai-bindings`` command (also ``python -m openai_bindings``).

A command is one function ``(args, out) -> exit code`` plus one ``add_parser``
entry in ``build_parser``. Any first argument that is not a command is a prompt
for ``chat``, the default command (``openai-bindings "Tell me a joke"``).

Errors read like a person wrote them and exit non-zero: 1 for a failure
talking to the API, 2 for a usage mistake, 130 when interrupted. ``--debug``
shows the request log and the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import inspect
import json
import sys
import warnings
from typing import Iterator, List, Optional, TextIO

from .. import __version__
from ..errors import PluginError
from ..keys import get_key, key_names, keys_path, set_key
from ..plugins import BUILTIN, PLUGINS_ENV, PluginLoadWarning, Registry, get_registry
from .batch import add_parser as add_batch_parser
from .chat import SLASH_COMMANDS, chat
from .common import UsageError, describe, make_client

__all__ = ["build_parser", "main"]

DEFAULT_COMMAND = "chat"


# -- commands --------------------------------------------------------------------------------------


def _models(args: argparse.Namespace, out: TextIO) -> int:
    body = make_client(args).models().body
    if args.json:  # the listing exactly as the API sent it
        out.write(json.dumps(body, indent=2) + "\n")
        return 0
    for model in sorted((body or {}).get("data") or (), key=lambda m: m.get("id", "")):
        out.write(f"{model.get('id')}\n")
    return 0


def _embed(args: argparse.Namespace, out: TextIO) -> int:
    client = make_client(args)
    params = {"model": args.model} if args.model else {}
    data = client.embedding(list(args.text), **params).body["data"]
    for text, item in zip(args.text, data, strict=True):
        vector = item["embedding"]
        if args.dims:
            out.write(f"{len(vector)}\t{text}\n")
        else:
            out.write(json.dumps(vector) + "\n")
    return 0


def _plugins(args: argparse.Namespace, out: TextIO) -> int:
    registry: Registry = get_registry()
    out.write("Transports:\n")
    for entry in sorted(registry.transports.values(), key=lambda e: e.name):
        kind = "async" if inspect.iscoroutinefunction(getattr(entry.cls, "send", None)) else "sync+async"
        state = "usable" if entry.usable else f"not usable here: {entry.unusable_reason}"
        out.write(f"  {entry.name:<12} {kind:<10} {_origin(entry.origin):<28} {state}\n")
    out.write("Providers:\n")
    for entry in sorted(registry.providers.values(), key=lambda e: e.name):
        base = getattr(entry.cls, "default_base_url", "") or "(set base_url)"
        out.write(f"  {entry.name:<12} {'':<10} {_origin(entry.origin):<28} {base}\n")
    if registry.failures:
        out.write("Failed to load:\n")
        for failure in registry.failures:
            out.write(f"  {failure.plugin:<12} {_origin(failure.origin):<39} {failure.error}\n")
    return 0


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from ..demo import run_demo

    return run_demo(out)


def _check_transport(args: argparse.Namespace, out: TextIO) -> int:
    from ..testing.transport_check import main as check

    return check(args.name, use_async=args.use_async, server=args.server, only=args.only, out=out)


def _keys_set(args: argparse.Namespace, out: TextIO) -> int:
    value = args.value
    if value is None:
        if sys.stdin is not None and sys.stdin.isatty():
            value = getpass.getpass(f"Key for {args.name!r} (not shown): ")
        else:  # `printf %s "$KEY" | openai-bindings keys set openai`
            value = sys.stdin.readline() if sys.stdin is not None else ""
    path = set_key(args.name, value)
    sys.stderr.write(f"stored the key {args.name!r} in {path}\n")
    return 0


def _keys_get(args: argparse.Namespace, out: TextIO) -> int:
    key = get_key(args.name)
    if key is None:
        stored = ", ".join(key_names()) or "none"
        sys.stderr.write(
            f"openai-bindings: no key named {args.name!r} (stored: {stored}); "
            f"store one with `openai-bindings keys set {args.name}`\n"
        )
        return 1
    out.write(key + "\n")
    return 0


def _keys_list(args: argparse.Namespace, out: TextIO) -> int:
    for name in key_names():
        out.write(name + "\n")
    return 0


def _keys_path(args: argparse.Namespace, out: TextIO) -> int:
    out.write(f"{keys_path()}\n")
    return 0


def _fake_server(args: argparse.Namespace, out: TextIO) -> int:
    from ..testing.fake import serve

    return serve(args.host, args.port, cors=args.cors, models=args.model or None, out=out)


def _origin(origin: str) -> str:
    return origin if origin == BUILTIN else f"from {origin}"


# -- the parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openai-bindings",
        description="Talk to OpenAI-compatible APIs through pluggable transports and providers. "
        'A first argument that is not a command is a prompt: openai-bindings "Tell me a joke".',
    )
    parser.add_argument("--version", action="version", version=f"openai-bindings {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the request log and tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--provider", default=None, help="openai (default), gemini, azure, openrouter, compatible, ..."
    )
    connection.add_argument(
        "--transport", default=None, help="stdlib, urllib3, aiohttp or a plugin's (default: chosen)"
    )
    connection.add_argument(
        "--base-url", default=None, help="the API's base URL, e.g. http://localhost:11434/v1"
    )
    connection.add_argument(
        "--api-key", default=None, help="else the provider's environment variable, else the keys file"
    )
    connection.add_argument(
        "--key", default=None, metavar="NAME", help="use the key stored as NAME (see: keys set NAME)"
    )
    connection.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    chat_parser = commands.add_parser(
        "chat",
        parents=[connection],
        help="one prompt, or a conversation (the default command)",
        description="One prompt (arguments and piped standard input, joined); a conversation on a "
        "terminal otherwise. In a conversation: " + ", ".join(SLASH_COMMANDS) + ".",
    )
    chat_parser.add_argument("prompt", nargs="*", metavar="PROMPT")
    chat_parser.add_argument("-m", "--model", default=None)
    chat_parser.add_argument(
        "-s", "--system", default=None, help="a system prompt (instructions with --responses)"
    )
    chat_parser.add_argument(
        "-o",
        "--option",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        help="any API parameter, VALUE as JSON when it parses: -o temperature 0.2 -o stop '[\"x\"]'",
    )
    chat_parser.add_argument("--temperature", type=float, default=None)
    chat_parser.add_argument(
        "-c", "--continue", dest="continue_", action="store_true", help="go on with the last conversation"
    )
    chat_parser.add_argument(
        "-a",
        "--attach",
        action="append",
        metavar="FILE",
        help="attach an image, audio or other file (a path or an http(s) URL); repeatable",
    )
    chat_parser.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    chat_parser.add_argument("--json", action="store_true", help="print the raw final response as JSON")
    chat_parser.add_argument("--responses", action="store_true", help="use the Responses API and its session")
    chat_parser.add_argument(
        "-i",
        "--interactive",
        action="store_true",
        help="a conversation even when standard input is not a terminal (one line per turn)",
    )
    chat_parser.set_defaults(handler=chat)

    models = commands.add_parser("models", parents=[connection], help="list the models the API offers")
    models.add_argument("--json", action="store_true", help="print the raw listing")
    models.set_defaults(handler=_models)

    embed = commands.add_parser(
        "embed", parents=[connection], help="print embedding vectors, one line per text"
    )
    embed.add_argument("text", nargs="+", metavar="TEXT")
    embed.add_argument("-m", "--model", default=None)
    embed.add_argument("--dims", action="store_true", help="print only each vector's length")
    embed.set_defaults(handler=_embed)

    add_batch_parser(commands, connection)

    keys = commands.add_parser(
        "keys",
        help="store API keys in a file only you can read, instead of the shell's history",
        description="Keys live in keys.json in your config directory (see: keys path), readable by you "
        "only. The key used: --api-key, then the provider's environment variable, then the stored key "
        "named after the provider (or the one --key NAME names).",
    )
    keys_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    keys_set = keys_commands.add_parser("set", help="store a key (asked for without echo)")
    keys_set.add_argument("name", metavar="NAME", help="e.g. openai, gemini (the provider's name)")
    keys_set.add_argument("--value", default=None, help="the key (else asked for, or read from a pipe)")
    keys_set.set_defaults(handler=_keys_set)
    keys_get = keys_commands.add_parser("get", help="print a stored key")
    keys_get.add_argument("name", metavar="NAME")
    keys_get.set_defaults(handler=_keys_get)
    keys_commands.add_parser("list", help="the stored keys' names").set_defaults(handler=_keys_list)
    keys_commands.add_parser("path", help="where the keys file is").set_defaults(handler=_keys_path)

    plugins = commands.add_parser(
        "plugins",
        help="list transports and providers, where they come from, and plugins that failed to load",
        description=f"Entry-point plugins are loaded unless {PLUGINS_ENV} restricts them "
        "(comma-separated names; empty loads none).",
    )
    plugins.set_defaults(handler=_plugins)
    demo = commands.add_parser("demo", help="walk through the main features against a local fake server")
    demo.set_defaults(handler=_demo)
    fake = commands.add_parser(
        "fake-server",
        help="serve FakeOpenAIServer until Ctrl-C; its base URL is the first line printed",
        description="A local stand-in for the OpenAI API, for tests, demos and hosts without network.",
    )
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=0, help="default: a free port (the printed URL says which)")
    fake.add_argument("--cors", action="store_true", help="send CORS headers, so a browser page can call it")
    fake.add_argument("--model", action="append", metavar="M", help="a model that exists (repeat); else any")
    fake.set_defaults(handler=_fake_server)
    check = commands.add_parser(
        "check-transport",
        help="run the transport conformance kit against a transport (exit 0 when all pass)",
        description="Runs openai_bindings.testing.check_transport against a registered transport, "
        "on a private local server, or on a running fake-server with --server.",
    )
    check.add_argument("name", metavar="NAME", help="a registered transport (see `openai-bindings plugins`)")
    check.add_argument("--async", dest="use_async", action="store_true", help="a sync one run for asyncio")
    check.add_argument("--server", default=None, metavar="URL", help="a running fake-server's base URL")
    check.add_argument("--only", action="append", default=None, metavar="SCENARIO", help="run only these")
    check.set_defaults(handler=_check_transport)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def _with_default_command(parser: argparse.ArgumentParser, argv: List[str]) -> List[str]:
    """``openai-bindings "prompt"`` is ``openai-bindings chat "prompt"``; no command on a terminal chats."""
    index = 0
    while index < len(argv) and argv[index] == "--debug":
        index += 1
    if index == len(argv):
        terminal = sys.stdin is not None and sys.stdin.isatty()
        return [*argv, DEFAULT_COMMAND] if terminal else argv
    if argv[index] in _command_names(parser) or argv[index] in ("-h", "--help", "--version"):
        return argv
    return [*argv[:index], DEFAULT_COMMAND, *argv[index:]]


# -- running a command -----------------------------------------------------------------------------


@contextlib.contextmanager
def _plugin_notices() -> Iterator[None]:
    """A plugin that failed to load is one line on stderr, not a Python warning with an internal path."""
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: Optional[TextIO] = None,
            line: Optional[str] = None,
        ) -> None:
            failure = getattr(message, "failure", None)
            if not issubclass(category, PluginLoadWarning) or failure is None:
                shown(message, category, filename, lineno, file, line)
                return
            where = "built-in" if failure.origin == BUILTIN else f"from dist {failure.origin}"
            sys.stderr.write(
                f"openai-bindings: plugin {failure.plugin!r} ({where}) skipped: {failure.error}\n"
            )

        warnings.showwarning = show
        yield


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_with_default_command(parser, list(sys.argv[1:] if argv is None else argv)))
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    if args.debug:
        from .._logging import enable

        enable("debug")
    try:
        with _plugin_notices():
            return int(handler(args, sys.stdout) or 0)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 130
    except BrokenPipeError:  # `openai-bindings models | head`
        return 0
    except Exception as error:
        if args.debug:
            raise
        usage = isinstance(error, (UsageError, PluginError, ValueError, TypeError))
        sys.stderr.write(f"openai-bindings: error: {describe(error, args)}\n")
        return 2 if usage else 1
