"""The ``openai-bindings`` command (also ``python -m openai_bindings``)."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, TextIO

from . import __version__
from .plugins import BUILTIN, PLUGINS_ENV, Registry, get_registry

__all__ = ["main"]


def _plugins(args: argparse.Namespace, out: TextIO) -> int:
    registry: Registry = get_registry()
    out.write("Transports:\n")
    for entry in sorted(registry.transports.values(), key=lambda e: e.name):
        kind = "async" if _is_async(entry.cls) else "sync+async"
        if entry.usable:
            state = "usable"
        else:
            state = f"not usable here: needs {', '.join(entry.missing)} ({entry.install_hint})"
        out.write(f"  {entry.name:<12} {kind:<10} {_origin(entry.origin):<28} {state}\n")
    out.write("Providers:\n")
    for entry in sorted(registry.providers.values(), key=lambda e: e.name):
        base = getattr(entry.cls, "default_base_url", "")
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


def _is_async(cls: type) -> bool:
    import inspect

    return inspect.iscoroutinefunction(getattr(cls, "send", None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openai-bindings",
        description="Talk to OpenAI-compatible APIs through pluggable transports and providers.",
    )
    parser.add_argument("--version", action="version", version=f"openai-bindings {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
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
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"openai-bindings: error: {error}", file=sys.stderr)
        return 1
