"""The benchmark: this library against the raw floor of each HTTP stack and openai-python, one run.

    python bench/run.py                  # every row; writes bench/results/latest.md (+ .png)
    python bench/run.py --quick          # every row, tiny sizes, well under a minute (CI)
    python bench/run.py --rows 'stream|session'    # rows whose id matches a regex
    python bench/run.py --list           # the rows, their targets, what profile.py runs

How it stays honest (bench/README.md says more):
- the server (server.py) runs in its own process, answers from a cache, and is shown not to be
  the bottleneck (its CPU share against the raw floors' is printed);
- every client runs in its own process (worker.py) and reports its own CPU time
  (``time.process_time``); rounds are interleaved (A B C A B C ...), warm-up rounds are
  discarded, and a ratio is the median of the per-round ratios;
- every client sends the same request and receives the same answer, and each round's check
  (characters received) must agree across clients, or the run fails.

The targets are issue 11's (and 9's and 10's); those marked † are the bench's own.
--quick never fails on a ratio: only a crash or a disagreeing check makes the exit status 1.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if HERE not in sys.path:  # run as a script, HERE is already first; imported (tests), keep it last
    sys.path.insert(0, HERE)

from clients import CLIENTS, KEY  # noqa: E402
from payloads import MESSAGES, MODEL  # noqa: E402
from server import BenchServer  # noqa: E402


class BenchError(Exception):
    """The bench itself failed: a client crashed, timed out, or did different work."""


class WorkerTimeout(BenchError):
    """A worker did not answer in time (it was killed)."""


# -- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    quick: bool
    rounds: int = 21
    warmup: int = 2
    requests: int = 1000  # non-streamed requests per round
    stream_events: int = 1000
    streams: int = 2  # streams per round
    paced_streams: int = 1
    concurrent_requests: int = 600  # per round, 50 at a time
    concurrent_streams: int = 200  # per round, 100 at a time
    concurrent_events: int = 100  # events per stream in the concurrency row
    throughput_rounds: int = 9
    process_rounds: int = 11  # import and cold-start subprocesses
    rss_warm: int = 100
    rss_requests: int = 5000
    session_sizes: Tuple[int, ...] = (10, 100, 1000)
    session_sends: Tuple[int, ...] = (200, 100, 30)
    accumulate_kib: Tuple[int, ...] = (1024, 8192, 32768)
    accumulate_rounds: int = 3
    round_timeout: float = 300.0


FULL = Settings(quick=False)
QUICK = Settings(
    quick=True,
    rounds=3,
    warmup=1,
    requests=20,
    stream_events=50,
    streams=1,
    concurrent_requests=100,
    concurrent_streams=100,
    concurrent_events=20,
    throughput_rounds=2,
    process_rounds=2,
    rss_warm=10,
    rss_requests=200,
    session_sends=(5, 5, 3),
    accumulate_kib=(64, 128, 256),
    accumulate_rounds=1,
    round_timeout=60.0,
)


# -- rows and targets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """``value <op> limit``, checked on the row's ratio against its floor or against openai-python."""

    op: str  # "<=", ">=" or "==" ; "" for a row that only informs
    limit: float = 0.0
    against: str = "floor"  # "floor", "openai" or "value"
    mine: bool = False  # the bench's own target (no number in the issues)

    def text(self) -> str:
        if not self.op:
            return "info"
        limit = f"{self.limit:g}"
        what = {"floor": f"{limit}x floor", "openai": f"{limit}x openai-python", "value": limit}
        return f"{self.op} {what[self.against]}" + (" †" if self.mine else "")

    def holds(self, value: Optional[float]) -> Optional[bool]:
        if not self.op or value is None:
            return None
        return {"<=": value <= self.limit, ">=": value >= self.limit, "==": value == self.limit}[self.op]


INFO = Target("")


@dataclass(frozen=True)
class RowSpec:
    id: str
    title: str
    group: str
    target: Target
    #: What profile.py runs for this row: (client, workload, scenario, arguments).
    profile: Optional[Tuple[str, str, str, Dict[str, Any]]] = None


def _spec_rows() -> List[RowSpec]:
    req = Target("<=", 1.10)
    stream = Target("<=", 1.25)
    rows = [
        RowSpec(
            "request-sync-urllib3",
            "request, sync, urllib3",
            "request-sync",
            req,
            ("ours-urllib3", "request", "chat", {"count": 2000}),
        ),
        RowSpec(
            "request-sync-stdlib",
            "request, sync, stdlib",
            "request-sync",
            req,
            ("ours-stdlib", "request", "chat", {"count": 2000}),
        ),
        RowSpec(
            "hooks-calls", "hook calls per call, no implementation", "request-sync", Target("==", 0, "value")
        ),
        RowSpec(
            "hooks-noop-plugin",
            "request with a no-op observer plugin vs none",
            "request-sync",
            INFO,
            ("ours-urllib3+noop", "request", "chat", {"count": 2000}),
        ),
        RowSpec(
            "request-async-aiohttp",
            "request, async, aiohttp",
            "request-async",
            req,
            ("ours-aiohttp", "request", "chat", {"count": 2000}),
        ),
        RowSpec(
            "request-async-stdlib",
            "request, async, stdlib (threads) vs http.client",
            "request-async",
            INFO,
            ("ours-async-stdlib", "request", "chat", {"count": 1000}),
        ),
    ]
    for prefix, kind, count in (("stream", "stream-1000", 20), ("paced", "paced-1000", 5)):
        label = "1,000-event stream" + (", paced" if prefix == "paced" else "")
        rows += [
            RowSpec(
                f"{prefix}-urllib3",
                f"{label}, urllib3",
                prefix,
                stream,
                ("ours-urllib3", "stream", kind, {"count": count}),
            ),
            RowSpec(
                f"{prefix}-stdlib",
                f"{label}, stdlib",
                prefix,
                stream,
                ("ours-stdlib", "stream", kind, {"count": count}),
            ),
            RowSpec(
                f"{prefix}-aiohttp",
                f"{label}, aiohttp",
                prefix,
                stream,
                ("ours-aiohttp", "stream", kind, {"count": count}),
            ),
            RowSpec(
                f"{prefix}-async-stdlib",
                f"{label}, AsyncOpenAI on stdlib",
                prefix,
                Target("<=", 0.33, "openai"),
                ("ours-async-stdlib", "stream", kind, {"count": count}),
            ),
        ]
    rows += [
        RowSpec(
            "throughput-requests",
            "async requests/s, 50 concurrent, aiohttp",
            "throughput",
            Target(">=", 0.95),
            ("ours-aiohttp", "concurrent", "chat", {"count": 2000, "width": 50, "stream": False}),
        ),
        RowSpec(
            "throughput-streams",
            "async streams/s, 100 concurrent, aiohttp",
            "throughput",
            Target(">=", 0.95),
            ("ours-aiohttp", "concurrent", "stream-100", {"count": 400, "width": 100, "stream": True}),
        ),
        RowSpec("import", "import CPU time vs openai-python", "import", Target("<=", 0.05, "openai")),
        RowSpec("sync-no-asyncio", "sync client imports asyncio/aiohttp", "import", Target("==", 0, "value")),
        RowSpec("cold-start", "cold start: import + client + 1st request", "cold", Target("<=", 1.2)),
        RowSpec("rss-peak", "peak RSS (VmHWM) after the requests", "rss", INFO),
        RowSpec(
            "rss-growth", "RSS growth over the requests (KiB)", "rss", Target("<=", 1024, "value", mine=True)
        ),
    ]
    for size in (10, 100, 1000):
        rows.append(
            RowSpec(
                f"session-{size}",
                f"ChatSession.send, history {size:,}",
                "session",
                Target("<=", 1.2) if size == 1000 else INFO,
                ("ours-urllib3", "session", "chat", {"count": 30000 // size, "size": size}),
            )
        )
    for mib in (1, 8, 32):
        rows.append(
            RowSpec(
                f"accumulate-{mib}mb",
                f"stream accumulation, {mib} MB (CPU per MB)",
                "accumulate",
                INFO,
                ("ours-urllib3", "accumulate", f"accum-{mib * 1024}", {}),
            )
        )
    rows.append(
        RowSpec(
            "accumulate-linear",
            "accumulation: cost per MB, largest / smallest",
            "accumulate",
            Target("<=", 1.5, "value", mine=True),
        )
    )
    return rows


ROWS = {row.id: row for row in _spec_rows()}


@dataclass
class Result:
    """One printed row."""

    spec: RowSpec
    ours: str = ""
    floor: str = ""
    ratio: Optional[float] = None  # ours / floor (throughput: ours / floor as well, higher is better)
    spread: Optional[Tuple[float, float]] = None  # the ratio's interquartile range over the rounds
    vs_openai: Optional[float] = None
    value: Optional[float] = None  # for targets on a plain value
    note: str = ""

    @property
    def status(self) -> str:
        target = self.spec.target
        measured = {"floor": self.ratio, "openai": self.vs_openai, "value": self.value}[target.against]
        held = target.holds(measured)
        if held is None:
            return "info" if not target.op else "n/a"
        return "PASS" if held else "MISS"


# -- worker processes --------------------------------------------------------------------------


def child_env() -> Dict[str, str]:
    """Children import this checkout's openai_bindings (the one being measured), quietly."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # PYTHONDONTWRITEBYTECODE would make every fresh interpreter compile this checkout from source
    # while installed packages (openai, urllib3) load their .pyc: write it, as an install does.
    for name in ("OPENAI_BINDINGS_LOG", "OPENAI_BINDINGS_TRANSPORT", "OPENAI_LOG", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


class WorkerProcess:
    """A worker.py child: send a command, get its answer within a deadline, or kill it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "worker.py"), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=tempfile.gettempdir(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.busy = True  # until it says it is ready
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        """Queue the worker's answers; at its end (EOF), close the pipe and queue ""."""
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(line)
        self.lines.put("")

    def answer(self, timeout: float) -> Dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise WorkerTimeout(f"{self.name}: no answer within {timeout:.0f} s (killed)") from None
        self.busy = False
        if not line:
            raise BenchError(f"{self.name}: the worker exited (exit status {self.process.wait(5)})")
        value: Dict[str, Any] = json.loads(line)
        if "error" in value:
            raise BenchError(f"{self.name} failed:\n{value['error']}")
        return value

    def send(self, command: Dict[str, Any], timeout: float) -> Dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        self.busy = True
        return self.answer(timeout)

    def run(self, workload: str, args: Dict[str, Any], timeout: float) -> Dict[str, Any]:
        return self.send({"op": "run", "workload": workload, "args": args}, timeout)

    def stop(self) -> None:
        """Ask it to exit (kill it when busy or deaf), and release both pipes."""
        if self.busy:  # still working on a command (we were interrupted): no point waiting
            self.kill()
        assert self.process.stdin is not None
        try:
            if self.process.poll() is None:
                self.process.stdin.write('{"op": "exit"}\n')
            self.process.stdin.close()
        except OSError:
            pass  # it is gone already
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.reader.join(10)  # it closes stdout at EOF

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def available(client: str) -> bool:
    """Whether the library a client needs is installed here."""
    return importlib.util.find_spec(CLIENTS[client][1].split(".")[0]) is not None


class Pool:
    """One long-lived worker per client (fresh ones on request), all stopped at the end."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.workers: Dict[str, WorkerProcess] = {}
        self.extra: List[WorkerProcess] = []

    def get(self, names: Sequence[str], fresh: bool = False) -> Dict[str, WorkerProcess]:
        """Workers for ``names``, started together (a fresh one is the caller's to stop)."""
        found: Dict[str, WorkerProcess] = {}
        started = []
        for name in names:
            worker = None if fresh else self.workers.get(name)
            if worker is None or worker.process.poll() is not None:
                worker = WorkerProcess(name)
                started.append(worker)
                if fresh:
                    self.extra.append(worker)
                else:
                    self.workers[name] = worker
            found[name] = worker
        for worker in started:
            worker.answer(120)  # "ready": its imports are done
        return found

    def close(self) -> None:
        for worker in [*self.workers.values(), *self.extra]:
            worker.stop()
        self.workers.clear()
        self.extra.clear()


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Samples:
    cpu: List[float] = field(default_factory=list)
    wall: List[float] = field(default_factory=list)
    server: List[float] = field(default_factory=list)

    def median(self, what: str = "cpu") -> float:
        return statistics.median(getattr(self, what))


class Context:
    def __init__(self, settings: Settings, server: BenchServer, pool: Pool) -> None:
        self.settings = settings
        self.server = server
        self.pool = pool
        self.headroom: List[Tuple[str, str, float, float]] = []  # (set, floor, client share, server share)
        self.samples: Dict[str, Dict[str, Samples]] = {}  # every measurement, for latest.json

    def interleave(
        self,
        label: str,
        clients: Sequence[str],
        workload: str,
        args: Dict[str, Any],
        rounds: Optional[int] = None,
        warmup: Optional[int] = None,
        workers: Optional[Dict[str, WorkerProcess]] = None,
        timeout: Optional[float] = None,
        headroom: bool = True,
    ) -> Dict[str, Samples]:
        """Rounds of A B C A B C ...; warm-up rounds dropped; every round's checks must agree.

        ``workers``: the processes to use (default: the pool's long-lived ones). ``headroom``:
        record the server's load next to the raw floors' (not for paced streams: that server waits).
        """
        settings = self.settings
        clients = [name for name in clients if available(name)]
        if workers is None:
            workers = self.pool.get(clients)
        if "base" in args:
            self.server.prepare(args["base"])  # its answer is encoded now, not in a measured round
        samples = {name: Samples() for name in clients}
        rounds = settings.rounds if rounds is None else rounds
        warmup = settings.warmup if warmup is None else warmup
        for number in range(warmup + rounds):
            checks = {}
            turn = number % len(clients)  # A B C, B C A, C A B ...: no client always goes first
            for name in clients[turn:] + clients[:turn]:
                before = self.server.cpu()
                result = workers[name].run(workload, args, timeout or settings.round_timeout)
                server = self.server.cpu() - before
                checks[name] = result["check"]
                if number >= warmup:
                    samples[name].cpu.append(result["cpu"])
                    samples[name].wall.append(result["wall"])
                    samples[name].server.append(server)
            if len(set(checks.values())) > 1:
                raise BenchError(f"{label}: the clients received different answers: {checks}")
        for name in clients:
            if headroom and name.startswith("raw-") and samples[name].wall:
                wall = samples[name].median("wall")
                self.headroom.append(
                    (label, name, samples[name].median("cpu") / wall, samples[name].median("server") / wall)
                )
        self.samples[label] = samples
        return samples


def ratios(samples: Dict[str, Samples], ours: str, other: str, what: str = "cpu") -> List[float]:
    """The per-round ratios ours/other (rounds were interleaved, so a pair shares the machine's noise)."""
    if ours not in samples or other not in samples:
        return []
    a, b = getattr(samples[ours], what), getattr(samples[other], what)
    return [x / y for x, y in zip(a, b, strict=True) if y > 0]


def paired(samples: Dict[str, Samples], ours: str, other: str, what: str = "cpu") -> Optional[float]:
    """The median of the per-round ratios ours/other."""
    found = ratios(samples, ours, other, what)
    return statistics.median(found) if found else None


def spread(values: List[float]) -> Optional[Tuple[float, float]]:
    """The interquartile range: half the rounds fall inside it (how far to trust the median)."""
    if len(values) < 4:
        return None
    quartiles = statistics.quantiles(values, n=4)
    return quartiles[0], quartiles[2]


def per_unit(seconds: float, units: int, unit: str) -> str:
    value = seconds / units
    if value >= 0.1:
        return f"{value:.2f} s/{unit}"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms/{unit}"
    return f"{value * 1e6:.0f} µs/{unit}"


def compare(
    samples: Dict[str, Samples],
    row: str,
    ours: str,
    floor: Optional[str],
    openai: Optional[str],
    units: int,
    unit: str,
) -> Result:
    """A row: CPU per unit of ours and of the floor, their ratio, and the ratio to openai-python."""
    result = Result(ROWS[row])
    if ours not in samples:
        result.note = f"{ours} not installed"
        return result
    result.ours = per_unit(samples[ours].median(), units, unit)
    if floor is not None and floor in samples:
        result.floor = f"{per_unit(samples[floor].median(), units, unit)} ({floor})"
        result.ratio = paired(samples, ours, floor)
        result.spread = spread(ratios(samples, ours, floor))
    if openai is not None:
        result.vs_openai = paired(samples, ours, openai)
    return result


# -- the row groups ----------------------------------------------------------------------------


def group_request_sync(ctx: Context) -> List[Result]:
    s = ctx.settings
    clients = [
        "raw-urllib3",
        "raw-http.client",
        "ours-urllib3",
        "ours-stdlib",
        "ours-urllib3+noop",
        "openai-python",
    ]
    samples = ctx.interleave(
        "request, sync", clients, "request", {"base": ctx.server.url("chat"), "count": s.requests}
    )
    n = s.requests
    results = [
        compare(
            samples, "request-sync-urllib3", "ours-urllib3", "raw-urllib3", "openai-python", n, "request"
        ),
        compare(
            samples, "request-sync-stdlib", "ours-stdlib", "raw-http.client", "openai-python", n, "request"
        ),
    ]
    noop = compare(
        samples, "hooks-noop-plugin", "ours-urllib3+noop", "ours-urllib3", "openai-python", n, "request"
    )
    results += [hook_calls(ctx), noop]
    if noop.ratio is not None:
        extra = samples["ours-urllib3+noop"].median() - samples["ours-urllib3"].median()
        calls = ctx.pool.get(["ours-urllib3+noop"])["ours-urllib3+noop"].send(
            {
                "op": "hookcalls",
                "request": ctx.server.url("chat"),
                "stream": ctx.server.url(f"stream-{s.stream_events}"),
                "count": 5,
            },
            s.round_timeout,
        )
        seen = sum(calls["plugin"].values()) / calls["calls"]
        noop.note = f"{extra / n * 1e6:+.1f} µs/request; the plugin saw {seen:.1f} hook calls per call"
    return results


def hook_calls(ctx: Context) -> Result:
    """Issue 10: with no implementation, no hook call at all (pluggy's monitor counts them)."""
    result = Result(ROWS["hooks-calls"])
    worker = ctx.pool.get(["ours-urllib3"])["ours-urllib3"]
    calls = worker.send(
        {
            "op": "hookcalls",
            "request": ctx.server.url("chat"),
            "stream": ctx.server.url(f"stream-{ctx.settings.stream_events}"),
            "count": 5,
        },
        ctx.settings.round_timeout,
    )
    per_call = sum(calls["pluggy"].values()) / calls["calls"]
    result.value = per_call
    result.ours = f"{per_call:g} per call"
    result.note = ", ".join(f"{name}: {count}" for name, count in sorted(calls["pluggy"].items())) or "none"
    result.note = f"pluggy calls in {calls['calls']} calls: {result.note}"
    return result


def group_request_async(ctx: Context) -> List[Result]:
    s = ctx.settings
    clients = ["raw-aiohttp", "raw-http.client", "ours-aiohttp", "ours-async-stdlib", "openai-python-async"]
    samples = ctx.interleave(
        "request, async", clients, "request", {"base": ctx.server.url("chat"), "count": s.requests}
    )
    n = s.requests
    return [
        compare(
            samples,
            "request-async-aiohttp",
            "ours-aiohttp",
            "raw-aiohttp",
            "openai-python-async",
            n,
            "request",
        ),
        compare(
            samples,
            "request-async-stdlib",
            "ours-async-stdlib",
            "raw-http.client",
            "openai-python-async",
            n,
            "request",
        ),
    ]


def _streams(ctx: Context, prefix: str, scenario: str, count: int) -> List[Result]:
    """The four transport pairings, their raw floors and openai-python, on one stream scenario."""
    clients = [
        "raw-urllib3",
        "raw-http.client",
        "raw-aiohttp",
        "ours-urllib3",
        "ours-stdlib",
        "ours-aiohttp",
        "ours-async-stdlib",
        "openai-python",
        "openai-python-async",
    ]
    samples = ctx.interleave(
        f"stream, {scenario}",
        clients,
        "stream",
        {"base": ctx.server.url(scenario), "count": count},
        headroom=prefix != "paced",
    )
    return [
        compare(
            samples, f"{prefix}-urllib3", "ours-urllib3", "raw-urllib3", "openai-python", count, "stream"
        ),
        compare(
            samples, f"{prefix}-stdlib", "ours-stdlib", "raw-http.client", "openai-python", count, "stream"
        ),
        compare(
            samples,
            f"{prefix}-aiohttp",
            "ours-aiohttp",
            "raw-aiohttp",
            "openai-python-async",
            count,
            "stream",
        ),
        compare(
            samples,
            f"{prefix}-async-stdlib",
            "ours-async-stdlib",
            "raw-http.client",
            "openai-python-async",
            count,
            "stream",
        ),
    ]


def group_stream(ctx: Context) -> List[Result]:
    s = ctx.settings
    return _streams(ctx, "stream", f"stream-{s.stream_events}", s.streams)


def group_paced(ctx: Context) -> List[Result]:
    s = ctx.settings
    return _streams(ctx, "paced", f"paced-{s.stream_events}", s.paced_streams)


def group_throughput(ctx: Context) -> List[Result]:
    s = ctx.settings
    clients = ["raw-aiohttp", "ours-aiohttp", "openai-python-async"]
    results = []
    for row, scenario, count, width, stream in (
        ("throughput-requests", "chat", s.concurrent_requests, 50, False),
        ("throughput-streams", f"stream-{s.concurrent_events}", s.concurrent_streams, 100, True),
    ):
        samples = ctx.interleave(
            f"{row} (width {width})",
            clients,
            "concurrent",
            {"base": ctx.server.url(scenario), "count": count, "width": width, "stream": stream},
            rounds=s.throughput_rounds,
            warmup=1,
        )
        result = Result(ROWS[row])
        unit = "stream" if stream else "request"
        if "ours-aiohttp" in samples and "raw-aiohttp" in samples:
            ours, raw = samples["ours-aiohttp"], samples["raw-aiohttp"]
            result.ours = f"{count / ours.median():,.0f} {unit}s/CPU-s ({count / ours.median('wall'):,.0f}/s)"
            result.floor = f"{count / raw.median():,.0f} {unit}s/CPU-s ({count / raw.median('wall'):,.0f}/s)"
            # The rate a saturated client reaches: calls per CPU-second. Wall-clock rates follow
            # the machine's other load too (the note shows both, and how busy the floor was).
            rates = [1 / r for r in ratios(samples, "ours-aiohttp", "raw-aiohttp")]
            result.ratio, result.spread = statistics.median(rates), spread(rates)
            wall = 1 / (paired(samples, "ours-aiohttp", "raw-aiohttp", "wall") or 1)
            busy = raw.median() / raw.median("wall")
            result.note = f"wall-clock rate {wall:.2f}x raw-aiohttp; raw-aiohttp's CPU was {busy:.0%} of wall"
            if "openai-python-async" in samples:
                result.vs_openai = 1 / (paired(samples, "ours-aiohttp", "openai-python-async") or 1)
        results.append(result)
    return results


def _python(code: str, *args: str, flags: Sequence[str] = (), timeout: float = 120) -> Tuple[str, str]:
    """Run ``python [flags] -c code args`` in a clean directory; its stdout and stderr."""
    done = subprocess.run(
        [sys.executable, *flags, "-c", code, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=tempfile.gettempdir(),
        timeout=timeout,
    )
    if done.returncode:
        raise BenchError(f"a child python failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout, done.stderr


def import_time(module: str) -> float:
    """CPU seconds ``import module`` takes in a fresh interpreter (CPU: wall time follows the load)."""
    out, _ = _python(
        f"import time\ncpu = time.process_time()\nimport {module}\nprint(time.process_time() - cpu)"
    )
    return float(out)


SYNC_IMPORTS = """
import json, sys
import openai_bindings
messages, model, key = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
for transport in (None, "stdlib"):
    client = openai_bindings.OpenAI(api_key=key, base_url=sys.argv[4], transport=transport)
    client.create_chat_completion(messages, model=model)
    client.close()
    client = openai_bindings.OpenAI(api_key=key, base_url=sys.argv[5], transport=transport)
    client.create_chat_completion(messages, model=model, stream=True).until_done()
    client.close()
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"asyncio", "aiohttp"})))
"""


def group_import(ctx: Context) -> List[Result]:
    s = ctx.settings
    ours: List[float] = []
    theirs: List[float] = []
    have_openai = available("openai-python")
    for _ in range(s.process_rounds + 1):  # the first round warms the disk cache: dropped
        ours.append(import_time("openai_bindings"))
        if have_openai:
            theirs.append(import_time("openai"))
    result = Result(ROWS["import"], ours=f"{statistics.median(ours[1:]) * 1e3:.1f} ms")
    if have_openai:
        result.floor = f"{statistics.median(theirs[1:]) * 1e3:.0f} ms (openai-python)"
        result.vs_openai = statistics.median(a / b for a, b in zip(ours[1:], theirs[1:], strict=True))
    else:
        result.note = "openai-python not installed"
    out, _ = _python(
        SYNC_IMPORTS,
        json.dumps(MESSAGES),
        MODEL,
        KEY,
        ctx.server.url("chat"),
        ctx.server.url(f"stream-{s.stream_events}"),
    )
    loaded = json.loads(out)
    sync = Result(ROWS["sync-no-asyncio"], ours=", ".join(loaded) or "neither", value=len(loaded))
    sync.note = "OpenAI() on the default transport and on stdlib: a request and a stream each"
    return [result, sync]


COLD = {
    "ours": """
import time
cpu, wall = time.process_time(), time.perf_counter()
import sys, openai_bindings
client = openai_bindings.OpenAI(api_key=sys.argv[2], base_url=sys.argv[1])
n = len(client.create_chat_completion([{"role": "user", "content": "Say hello"}], model=sys.argv[3])
        .body["choices"][0]["message"]["content"])
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(cpu, wall, n, client.transport.name)
""",
    "raw": """
import time
cpu, wall = time.process_time(), time.perf_counter()
import sys, json, urllib3
pool = urllib3.PoolManager(retries=False)
body = json.dumps({"messages": [{"role": "user", "content": "Say hello"}], "model": sys.argv[3]}).encode()
headers = {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"}
response = pool.request("POST", sys.argv[1] + "/chat/completions", body=body, headers=headers)
n = len(json.loads(response.data)["choices"][0]["message"]["content"])
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(cpu, wall, n, "urllib3")
""",
    "openai": """
import time
cpu, wall = time.process_time(), time.perf_counter()
import sys, openai
client = openai.OpenAI(api_key=sys.argv[2], base_url=sys.argv[1])
n = len(client.chat.completions.create(messages=[{"role": "user", "content": "Say hello"}], model=sys.argv[3])
        .choices[0].message.content)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(cpu, wall, n, "httpx")
""",
}


def group_cold(ctx: Context) -> List[Result]:
    s = ctx.settings
    kinds = ["ours", "raw"] + (["openai"] if available("openai-python") else [])
    runs: Dict[str, List[float]] = {kind: [] for kind in kinds}
    transport = ""
    for number in range(s.process_rounds + 1):
        for kind in kinds:
            out, _ = _python(COLD[kind], ctx.server.url("chat"), KEY, MODEL)
            cpu, _wall, _n, name = out.split()
            if kind == "ours":
                transport = name
            if number:  # the first round warms the disk cache: dropped
                runs[kind].append(float(cpu))
    result = Result(
        ROWS["cold-start"], ours=f"{statistics.median(runs['ours']) * 1e3:.1f} ms CPU ({transport})"
    )
    result.floor = f"{statistics.median(runs['raw']) * 1e3:.1f} ms (raw urllib3)"
    result.ratio = statistics.median(a / b for a, b in zip(runs["ours"], runs["raw"], strict=True))
    if "openai" in runs:
        result.vs_openai = statistics.median(a / b for a, b in zip(runs["ours"], runs["openai"], strict=True))
    return [result]


def group_rss(ctx: Context) -> List[Result]:
    s = ctx.settings
    clients = [name for name in ("raw-urllib3", "ours-urllib3", "openai-python") if available(name)]
    memory = {}
    for name in clients:  # one at a time, each in a fresh process: VmHWM is that client's alone
        worker = ctx.pool.get([name], fresh=True)[name]
        try:
            memory[name] = worker.send(
                {"op": "rss", "base": ctx.server.url("chat"), "warm": s.rss_warm, "count": s.rss_requests},
                s.round_timeout,
            )
        finally:
            worker.stop()
    peak = Result(ROWS["rss-peak"], note=f"after {s.rss_warm + s.rss_requests:,} requests")
    growth = Result(
        ROWS["rss-growth"], note=f"from request {s.rss_warm:,} to {s.rss_warm + s.rss_requests:,}"
    )
    if "ours-urllib3" in memory:
        ours = memory["ours-urllib3"]
        peak.ours = f"{ours['hwm'] / 1024:.1f} MiB"
        growth.value = ours["rss_after"] - ours["rss_before"]
        growth.ours = f"{growth.value:+,} KiB"
        if "raw-urllib3" in memory:
            raw = memory["raw-urllib3"]
            peak.floor = f"{raw['hwm'] / 1024:.1f} MiB (raw-urllib3)"
            peak.ratio = ours["hwm"] / raw["hwm"]
            growth.floor = f"{raw['rss_after'] - raw['rss_before']:+,} KiB (raw-urllib3)"
        if "openai-python" in memory:
            peak.vs_openai = ours["hwm"] / memory["openai-python"]["hwm"]
            other = memory["openai-python"]
            growth.note += f"; openai-python {other['rss_after'] - other['rss_before']:+,} KiB"
    return [peak, growth]


def group_session(ctx: Context) -> List[Result]:
    s = ctx.settings
    results = []
    for size, sends in zip(s.session_sizes, s.session_sends, strict=True):
        row = f"session-{size}"
        if row not in ROWS:
            continue
        samples = ctx.interleave(
            f"session {size}",
            ["raw-urllib3", "ours-urllib3"],
            "session",
            {"base": ctx.server.url("chat"), "count": sends, "size": size},
        )
        results.append(compare(samples, row, "ours-urllib3", "raw-urllib3", None, sends, "send"))
    return results


def group_accumulate(ctx: Context) -> List[Result]:
    """Issue 9: accumulating a stream costs time linear in its size. CPU per MB at each size.

    One fresh pair of workers for all sizes (a 32 MB stream leaves a large heap behind). A
    round may take at most 10x what the smallest size's cost per MB predicts (30 s at least):
    past that, the cost is clearly not linear and the bigger sizes are not tried.
    """
    s = ctx.settings
    clients = [name for name in ("raw-urllib3", "ours-urllib3") if available(name)]
    per_mb: Dict[int, Dict[str, float]] = {}
    results = []
    stopped = ""
    workers = ctx.pool.get(clients, fresh=True)
    try:
        for kib, mib in zip(s.accumulate_kib, (1, 8, 32), strict=True):
            result = Result(ROWS[f"accumulate-{mib}mb"])
            results.append(result)
            megabytes = kib / 1024
            if stopped:
                result.note = f"{megabytes:g} MB not tried: {stopped}"
                continue
            budget = s.round_timeout
            if per_mb:
                first = per_mb[min(per_mb)]["ours-urllib3"]
                budget = max(30.0, 10 * first * megabytes)
            try:
                samples = ctx.interleave(
                    f"accumulate {megabytes:g} MB", clients, "accumulate",
                    {"base": ctx.server.url(f"accum-{kib}")},
                    rounds=s.accumulate_rounds, warmup=0 if per_mb else 1, workers=workers, timeout=budget,
                )  # fmt: skip
            except WorkerTimeout:
                stopped = f"a {megabytes:g} MB stream took over {budget:.0f} s (10x linear)"
                result.note = stopped
                result.ours = f"> {budget / megabytes * 1e3:.0f} ms/MB"
                workers = ctx.pool.get(clients, fresh=True)  # the timed-out one was killed
                continue
            per_mb[kib] = {name: samples[name].median() / megabytes for name in clients}
            result.ours = f"{per_mb[kib]['ours-urllib3'] * 1e3:.1f} ms/MB"
            result.floor = f"{per_mb[kib]['raw-urllib3'] * 1e3:.1f} ms/MB (raw-urllib3)"
            result.ratio = paired(samples, "ours-urllib3", "raw-urllib3")
            result.note = f"{megabytes:g} MB: {per_unit(samples['ours-urllib3'].median(), 1, 'stream')} CPU"
    finally:
        for worker in workers.values():
            worker.stop()
    linear = Result(ROWS["accumulate-linear"], note=stopped)
    if len(per_mb) >= 2:
        small, large = min(per_mb), max(per_mb)
        linear.value = per_mb[large]["ours-urllib3"] / per_mb[small]["ours-urllib3"]
        linear.ours = f"{linear.value:.2f} ({small / 1024:g} → {large / 1024:g} MB)"
        linear.floor = f"{per_mb[large]['raw-urllib3'] / per_mb[small]['raw-urllib3']:.2f} (raw-urllib3)"
    if stopped:  # a size was too slow to finish: not linear, whatever the smaller sizes showed
        linear.value = max(linear.value or 0.0, 10.0)
        linear.ours = (
            f"> 10 ({min(per_mb) / 1024:g} → {s.accumulate_kib[-1] / 1024:g} MB)" if per_mb else "> 10"
        )
    results.append(linear)
    return results


GROUPS: Dict[str, Callable[[Context], List[Result]]] = {
    "request-sync": group_request_sync,
    "request-async": group_request_async,
    "stream": group_stream,
    "paced": group_paced,
    "throughput": group_throughput,
    "import": group_import,
    "cold": group_cold,
    "rss": group_rss,
    "session": group_session,
    "accumulate": group_accumulate,
}


# -- report ------------------------------------------------------------------------------------


def machine() -> Dict[str, str]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for dist in ("openai-bindings", "pluggy", "urllib3", "aiohttp", "openai", "httpx", "pydantic"):
        try:
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    git = ["git", "-C", ROOT]
    commit = subprocess.run([*git, "describe", "--always"], capture_output=True, text=True).stdout.strip()
    # Dirty when the code differs from the commit; the results this run rewrites do not count.
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--", ".", ":(exclude)bench/results"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if commit and changed:
        commit += "-dirty"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{model}, {os.cpu_count()} cores",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({platform.system()})",
        "packages": ", ".join(versions),
        "commit": commit or "unknown",
        "load": " ".join(f"{load:.1f}" for load in os.getloadavg()),
    }


def _ratio(value: Optional[float], quartiles: Optional[Tuple[float, float]] = None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}x" + ("" if quartiles is None else f" ({quartiles[0]:.2f}-{quartiles[1]:.2f})")


def table(results: List[Result]) -> List[str]:
    lines = [
        "| row | measure | ours | floor | ours / floor | vs openai-python | target | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.spec.id}` | {r.spec.title} | {r.ours} | {r.floor} | {_ratio(r.ratio, r.spread)} | "
            f"{_ratio(r.vs_openai)} | {r.spec.target.text()} | {r.status} |"
        )
    return lines


def report(results: List[Result], ctx: Context, info: Dict[str, str], elapsed: float) -> str:
    s = ctx.settings
    lines = [
        f"# Benchmark results{' (--quick: tiny sizes, ratios not meaningful)' if s.quick else ''}",
        "",
        f"- date: {info['date']} (run took {elapsed:.0f} s)",
        f"- machine: {info['cpu']}; {info['python']}; load average at the end {info['load']} "
        f"(1, 5, 15 min: other work on the machine inflates and scatters CPU times)",
        f"- packages: {info['packages']}",
        f"- commit: {info['commit']}",
        f"- method: client process CPU time; a ratio is the median of the per-round ratios over "
        f"{s.rounds} interleaved rounds ({s.warmup} warm-up rounds dropped), its interquartile range "
        "in brackets; throughput rows compare calls per CPU-second at saturation (wall-clock rates "
        "in their notes). Targets from issues 9-11; † = the "
        "bench's own. Every round of every row: latest.json.",
        "",
        *table(results),
        "",
    ]
    notes = [f"- `{r.spec.id}`: {r.note}" for r in results if r.note]
    if notes:
        lines += ["Notes:", "", *notes, ""]
    if ctx.headroom:
        lines += [
            "Server headroom: while each raw floor ran, the share of wall time the client and the "
            "server spent on CPU (the floor, not the server, must be the busy one):",
            "",
            "| measurement | floor | client CPU / wall | server CPU / wall | |",
            "|---|---|---|---|---|",
        ]
        for label, name, client, server in ctx.headroom:
            verdict = "ok" if server < client else "SERVER-BOUND"
            lines.append(f"| {label} | {name} | {client:.0%} | {server:.0%} | {verdict} |")
        lines.append("")
    return "\n".join(lines)


def raw_data(results: List[Result], ctx: Context, info: Dict[str, str]) -> Dict[str, Any]:
    """Everything behind the table: each row, and each round of each measurement."""
    return {
        "machine": info,
        "settings": {k: v for k, v in vars(ctx.settings).items()},
        "rows": [
            {"id": r.spec.id, "title": r.spec.title, "ours": r.ours, "floor": r.floor, "ratio": r.ratio,
             "spread": r.spread, "vs_openai": r.vs_openai, "value": r.value, "target": r.spec.target.text(),
             "status": r.status, "note": r.note}
            for r in results
        ],
        "measurements": {
            label: {name: vars(s) for name, s in samples.items()} for label, samples in ctx.samples.items()
        },
    }  # fmt: skip


def chart(results: List[Result], path: str) -> bool:
    """A bar per ratio row, the target drawn on it; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = []
    for r in results:
        target = r.spec.target
        value = r.vs_openai if target.against == "openai" else r.ratio
        if value is None or target.against == "value":
            continue
        against = "openai-python" if target.against == "openai" else r.floor.rpartition("(")[2].rstrip(")")
        rows.append((f"{r.spec.id} (vs {against})", value, r))
    if not rows:
        return False
    figure, axes = plt.subplots(figsize=(9, 0.35 * len(rows) + 1.5))
    colours = {"PASS": "#3a7d44", "MISS": "#c0392b"}
    names = [name for name, _, _ in rows][::-1]
    values = [value for _, value, _ in rows][::-1]
    axes.barh(names, values, color=[colours.get(r.status, "#7f8c8d") for _, _, r in rows][::-1])
    for index, (_, _, r) in enumerate(rows[::-1]):
        if r.spec.target.op:
            axes.plot([r.spec.target.limit] * 2, [index - 0.4, index + 0.4], color="black", linewidth=2)
    axes.set_xscale("log")
    axes.axvline(1.0, color="grey", linewidth=0.8, linestyle=":")
    axes.set_xlabel("ratio (log scale; black tick = target; green PASS, red MISS, grey info)")
    axes.set_title("openai-bindings: ratios against the raw floor / openai-python, same run")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# -- main ----------------------------------------------------------------------------------------


def selected_groups(pattern: Optional[str]) -> Dict[str, List[str]]:
    """Group -> the ids of its rows that match ``pattern`` (all rows when None)."""
    chosen: Dict[str, List[str]] = {}
    regex = re.compile(pattern) if pattern else None
    for row in ROWS.values():
        if regex is None or regex.search(row.id):
            chosen.setdefault(row.group, []).append(row.id)
    return {group: chosen[group] for group in GROUPS if group in chosen}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few rounds: proves it runs")
    parser.add_argument("--rows", metavar="PATTERN", help="only rows whose id matches this regex")
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="where latest.md/.png go (default bench/results; --quick: a temporary dir)",
    )
    parser.add_argument("--list", action="store_true", help="list the rows and their targets, then exit")
    args = parser.parse_args(argv)

    if args.list:
        for row in ROWS.values():
            print(f"{row.id:24} {row.target.text():24} {row.title}")
        return 0
    groups = selected_groups(args.rows)
    if not groups:
        parser.error(f"no row id matches {args.rows!r}; see --list")
    settings = QUICK if args.quick else FULL
    output = args.output or (
        tempfile.mkdtemp(prefix="bench-") if args.quick else os.path.join(HERE, "results")
    )

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks below
    started = datetime.datetime.now()
    results: List[Result] = []
    pool = Pool(settings.round_timeout)
    server = BenchServer()
    try:
        server.start()
        ctx = Context(settings, server, pool)
        print(f"bench server in its own process at {server.base}; groups: {', '.join(groups)}", flush=True)
        for group, wanted in groups.items():
            print(f"\n== {group}", flush=True)
            produced = [r for r in GROUPS[group](ctx) if r.spec.id in wanted]
            for line in table(produced)[2:]:
                print(line, flush=True)
            results += produced
    except BenchError as error:
        print(f"\nbench failed: {error}", file=sys.stderr)
        return 1
    finally:
        pool.close()
        server.stop()

    elapsed = (datetime.datetime.now() - started).total_seconds()
    info = machine()
    text = report(results, ctx, info, elapsed)
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "latest.md"), "w") as out:
        out.write(text)
    with open(os.path.join(output, "latest.json"), "w") as out:
        json.dump(raw_data(results, ctx, info), out, separators=(",", ":"))
    drawn = chart(results, os.path.join(output, "latest.png"))
    print("\n" + text)
    print(f"written: {os.path.join(output, 'latest.md')}" + (" and latest.png" if drawn else ""))
    missed = [r.spec.id for r in results if r.status == "MISS"]
    if missed:
        print(f"targets missed ({len(missed)}): {', '.join(missed)}  (profile: python bench/profile.py ROW)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
