"""The ``openai-bindings`` command (also ``python -m openai_bindings``).

Errors read like a person wrote them and exit non-zero: 1 for a failure
talking to the API, 2 for a usage mistake, 130 when interrupted. ``--debug``
shows the traceback.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from typing import Any, List, Optional, TextIO

from . import __version__
from .errors import APIConnectionError, APIStatusError, AuthenticationError, OpenAIError, PluginError
from .plugins import BUILTIN, PLUGINS_ENV, Registry, get_registry

__all__ = ["main"]


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


# -- building a client from the flags ------------------------------------------------------------


def _client(args: argparse.Namespace, *, needs_key: bool = True) -> Any:
    from .client import OpenAI

    options: dict = {}
    if args.base_url:
        options["base_url"] = args.base_url
    client = OpenAI(args.api_key, provider=args.provider, transport=args.transport, **options)
    provider = client.provider
    local = provider.base_url.startswith(("http://127.", "http://localhost", "http://[::1]"))
    if needs_key and provider.key_required and not local and not provider.auth_headers():
        variables = " or ".join(provider.api_key_env) or "the provider's key variable"
        raise UsageError(
            f"no API key for the {provider.name!r} provider: set {variables}, or pass --api-key "
            "(a local server needs none: --base-url http://localhost:PORT/v1)"
        )
    return client


# -- commands --------------------------------------------------------------------------------------


def _print_stream(out: TextIO) -> Any:
    def show(chunk: Any) -> None:
        out.write(str(chunk))
        out.flush()

    return show


def _chat_once(args: argparse.Namespace, client: Any, prompt: str, out: TextIO) -> int:
    params = _chat_params(args)
    if args.json:  # the raw final response, exactly as the API sent it
        if args.responses:
            body = client.create_response(prompt, **params).body
        else:
            messages = [*params.pop("messages", []), {"role": "user", "content": prompt}]
            body = client.create_chat_completion(messages, **params).body
        out.write(json.dumps(body, indent=2) + "\n")
        return 0
    stream = not args.no_stream
    if args.responses:
        response = client.new_responses_chat_session(**params).send(
            prompt, _print_stream(out) if stream else None
        )
        out.write("\n" if stream else f"{response}\n")
        return 0
    reply = client.new_chat_session(**params).send(prompt, _print_stream(out) if stream else None)
    if not stream:
        out.write(reply if isinstance(reply, str) else json.dumps(reply))
    out.write("\n")
    return 0


def _chat_params(args: argparse.Namespace) -> dict:
    params: dict = {}
    if args.model:
        params["model"] = args.model
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.system:
        params["instructions" if args.responses else "messages"] = (
            args.system if args.responses else [{"role": "system", "content": args.system}]
        )
    return params


def _chat(args: argparse.Namespace, out: TextIO) -> int:
    client = _client(args)
    prompt = " ".join(args.prompt) if args.prompt else None
    if prompt is None and not args.interactive and not sys.stdin.isatty():
        prompt = sys.stdin.read().strip()
        if not prompt:
            raise UsageError("nothing to send: the prompt on standard input was empty")
    if prompt is not None:
        return _chat_once(args, client, prompt, out)
    return _interactive(args, client, out)


def _interactive(args: argparse.Namespace, client: Any, out: TextIO) -> int:
    params = _chat_params(args)
    session = (
        client.new_responses_chat_session(**params) if args.responses else client.new_chat_session(**params)
    )
    stream = not args.no_stream
    sys.stderr.write(
        f"Chatting with {client.default_model or 'the server'} ({client.provider.name}, "
        f"{client.transport.name}). /exit or Ctrl-D to leave.\n"
    )
    prompt = "> " if sys.stdin.isatty() else ""
    while True:
        try:
            line = input(prompt)
        except EOFError:
            out.write("\n")
            return 0
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return 0
        try:
            reply = session.send(text, _print_stream(out) if stream else None)
        except OpenAIError as error:  # one failed turn does not end the conversation
            sys.stderr.write(f"error: {_describe(error, args)}\n")
            continue
        if not stream:
            out.write(str(reply))
        out.write("\n")
        out.flush()


def _models(args: argparse.Namespace, out: TextIO) -> int:
    client = _client(args)
    body = client.models().body
    for model in sorted((body or {}).get("data") or (), key=lambda m: m.get("id", "")):
        out.write(f"{model.get('id')}\n")
    return 0


def _embed(args: argparse.Namespace, out: TextIO) -> int:
    client = _client(args)
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
    from .demo import run_demo

    return run_demo(out)


def _origin(origin: str) -> str:
    return origin if origin == BUILTIN else f"from {origin}"


# -- errors as a person would write them ------------------------------------------------------------


def _describe(error: BaseException, args: argparse.Namespace) -> str:
    if isinstance(error, AuthenticationError):
        return f"the server refused the API key ({error.status}): {error.message}"
    if isinstance(error, APIStatusError):
        return str(error)
    if isinstance(error, APIConnectionError):
        where = getattr(args, "base_url", None) or "the provider's API"
        return (
            f"could not get an answer from {where} over the {args.transport or 'default'} transport: {error}"
        )
    return str(error)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openai-bindings",
        description="Talk to OpenAI-compatible APIs through pluggable transports and providers.",
    )
    parser.add_argument("--version", action="version", version=f"openai-bindings {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--provider", default="openai", help="openai, gemini, azure, openrouter, compatible, ..."
    )
    connection.add_argument(
        "--transport", default=None, help="stdlib, urllib3, aiohttp or a plugin's (default: chosen)"
    )
    connection.add_argument(
        "--base-url", default=None, help="the API's base URL, e.g. http://localhost:11434/v1"
    )
    connection.add_argument("--api-key", default=None, help="else the provider's environment variable")
    connection.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    chat = commands.add_parser(
        "chat",
        parents=[connection],
        help="one prompt, or an interactive chat session",
        description="One-shot with a PROMPT (or piped on stdin); interactive otherwise.",
    )
    chat.add_argument("prompt", nargs="*", metavar="PROMPT")
    chat.add_argument("-m", "--model", default=None)
    chat.add_argument("-s", "--system", default=None, help="a system prompt (instructions with --responses)")
    chat.add_argument("--temperature", type=float, default=None)
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    chat.add_argument("--json", action="store_true", help="print the raw final response as JSON")
    chat.add_argument("--responses", action="store_true", help="use the Responses API and its session")
    chat.add_argument(
        "-i",
        "--interactive",
        action="store_true",
        help="a conversation even when standard input is not a terminal (one line per turn)",
    )
    chat.set_defaults(handler=_chat)

    models = commands.add_parser("models", parents=[connection], help="list the models the API offers")
    models.set_defaults(handler=_models)

    embed = commands.add_parser(
        "embed", parents=[connection], help="print embedding vectors, one line per text"
    )
    embed.add_argument("text", nargs="+", metavar="TEXT")
    embed.add_argument("-m", "--model", default=None)
    embed.add_argument("--dims", action="store_true", help="print only each vector's length")
    embed.set_defaults(handler=_embed)

    plugins = commands.add_parser(
        "plugins",
        help="list transports and providers, where they come from, and plugins that failed to load",
        description=f"Entry-point plugins are loaded unless {PLUGINS_ENV} restricts them "
        "(comma-separated names; empty loads none).",
    )
    plugins.set_defaults(handler=_plugins)
    demo = commands.add_parser("demo", help="walk through the main features against a local fake server")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
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
        sys.stderr.write(f"openai-bindings: error: {_describe(error, args)}\n")
        return 2 if usage else 1
