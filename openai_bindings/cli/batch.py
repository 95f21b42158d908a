"""`openai-bindings batch submit FILE | status ID... | results ID... --out FILE`: batches from a shell.

FILE is JSONL, one request a line: ``{"custom_id": ..., "body": {...}}`` (the Batch API's
own input lines, with ``method`` and ``url``, work as they are); ``-`` reads standard
input. ``submit`` prints the batch ids (several when the file is over the per-batch
limits) and returns; ``results`` waits for them with a progress line on stderr (on a
terminal) and writes one JSON line per request, every custom_id accounted for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any, Dict, Iterator, Optional, TextIO

from .common import UsageError, make_client

__all__ = ["add_parser"]


def _read_requests(path: str) -> Iterator[Dict[str, Any]]:
    """The requests of a JSONL file, one at a time (never the whole file in memory)."""
    with contextlib.ExitStack() as stack:
        if path == "-":
            lines: Any = sys.stdin
        else:
            try:
                lines = stack.enter_context(open(path, encoding="utf-8"))
            except OSError as error:
                raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError as error:
                raise UsageError(f"{path}, line {number}: not JSON ({error})") from None


def _endpoint(args: argparse.Namespace, first: Optional[Dict[str, Any]]) -> str:
    if args.endpoint:
        return str(args.endpoint)
    url = first.get("url") if isinstance(first, dict) else None
    return url if isinstance(url, str) and url else "/v1/chat/completions"


def _submit(args: argparse.Namespace, out: TextIO) -> int:
    from ..batch import submit_batches

    requests = _read_requests(args.file)
    first = next(requests, None)
    if first is None:
        raise UsageError(f"{args.file} holds no requests")

    def every() -> Iterator[Dict[str, Any]]:
        yield first
        yield from requests

    client = make_client(args)
    limits = {"max_lines": args.max_lines} if args.max_lines else {}
    endpoint = _endpoint(args, first)
    if args.wait:
        results = client.run_batch(
            every(), endpoint=endpoint, poll_interval=args.poll_interval, progress=_progress(args), **limits
        )
        return _write_results(results, args, out)
    batches = submit_batches(client, every(), endpoint=endpoint, **limits)
    ids = [batch["id"] for batch in batches]
    for ident in ids:
        out.write(ident + "\n")
    sys.stderr.write(
        f"submitted {len(ids)} batch(es); when they are done: "
        f"openai-bindings batch results {' '.join(ids)} --out results.jsonl\n"
    )
    return 0


def _status(args: argparse.Namespace, out: TextIO) -> int:
    client = make_client(args)
    for ident in args.ids:
        batch = client.batch(ident).body
        if args.json:
            out.write(json.dumps(batch) + "\n")
            continue
        counts = batch.get("request_counts") or {}
        done = int(counts.get("completed") or 0) + int(counts.get("failed") or 0)
        failed = f" ({counts.get('failed')} failed)" if counts.get("failed") else ""
        out.write(f"{ident}\t{batch.get('status')}\t{done}/{counts.get('total', 0)} done{failed}\n")
    return 0


def _results(args: argparse.Namespace, out: TextIO) -> int:
    client = make_client(args)
    results = client.batch_results(args.ids, poll_interval=args.poll_interval, progress=_progress(args))
    return _write_results(results, args, out)


def _write_results(results: Any, args: argparse.Namespace, out: TextIO) -> int:
    with contextlib.ExitStack() as stack:
        target = out
        if args.out and args.out != "-":
            target = stack.enter_context(open(args.out, "w", encoding="utf-8"))
        for result in results.values():
            target.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    tally = ", ".join(f"{n} {status}" for status, n in sorted(results.counts.items()))
    where = f" -> {args.out}" if args.out and args.out != "-" else ""
    sys.stderr.write(f"{len(results)} results: {tally}{where}\n")
    return 0


def _progress(args: argparse.Namespace) -> Optional[bool]:
    return False if args.quiet else (True if args.progress else None)


def add_parser(commands: Any, connection: argparse.ArgumentParser) -> None:
    """The ``batch`` command and its three actions (one entry in the CLI's parser)."""
    batch = commands.add_parser(
        "batch",
        help="run JSONL requests through the Batch API (half price, within 24 h)",
        description=__doc__.split("\n\n", 1)[1].replace("``", "'") if __doc__ else None,
    )
    actions = batch.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument(
        "--out", default=None, metavar="FILE", help="write the results here (default: stdout)"
    )
    waiting.add_argument("--poll-interval", type=float, default=30.0, metavar="SECONDS", help="default 30")
    waiting.add_argument(
        "--progress", action="store_true", help="show progress on stderr even off a terminal"
    )
    waiting.add_argument("--quiet", action="store_true", help="no progress line")

    submit = actions.add_parser(
        "submit", parents=[connection, waiting], help="upload FILE and create its batch(es); print the ids"
    )
    submit.add_argument("file", metavar="FILE", help="JSONL requests, or - for standard input")
    submit.add_argument("--endpoint", default=None, help="default: the lines' url, else /v1/chat/completions")
    submit.add_argument("--max-lines", type=int, default=None, help=argparse.SUPPRESS)  # tests: force a split
    submit.add_argument("--wait", action="store_true", help="wait, then write the results as `results` does")
    submit.set_defaults(handler=_submit)

    status = actions.add_parser("status", parents=[connection], help="one line per batch: status and counts")
    status.add_argument("ids", nargs="+", metavar="ID")
    status.add_argument("--json", action="store_true", help="print the batch objects as JSON")
    status.set_defaults(handler=_status)

    results = actions.add_parser(
        "results", parents=[connection, waiting], help="wait for the batch(es) and write every result"
    )
    results.add_argument("ids", nargs="+", metavar="ID")
    results.set_defaults(handler=_results)
