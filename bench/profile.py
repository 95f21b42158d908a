"""Profile one benchmark row's client, to find where its time goes (causes, not symptoms).

    python bench/profile.py ROW [--tool cprofile|pyinstrument] [--top 20] [--repeat N]

The row's client runs in this process against the bench server (its own process, as in
run.py), once to warm up, then ``--repeat`` times under the profiler. cProfile (timing CPU,
as run.py does, so waiting for the server costs nothing) prints the
top cumulative costs inside openai_bindings (core, transports, providers), each as a share
of the profiled time, then the top self times anywhere (json, urllib3, asyncio ...).
pyinstrument prints its call tree. ``import`` and ``cold-start`` profile a fresh interpreter;
``sync-no-asyncio`` names the imports that loaded asyncio or aiohttp into a sync client.

cProfile sees only the thread that runs the workload: for ``*-async-stdlib`` rows the
transport's work in executor threads is missing (pyinstrument has the same limit).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

HERE = sys.path.pop(0)  # this directory: its profile.py (this file) would shadow the standard library's
import cProfile  # noqa: E402
import pstats  # noqa: E402

sys.path.insert(0, HERE)

import run  # noqa: E402
from clients import CLIENTS, KEY  # noqa: E402
from payloads import MESSAGES, MODEL  # noqa: E402
from server import BenchServer  # noqa: E402

#: Runs a script (argv[2], given argv[3:]) under cProfile on CPU time; the stats go to argv[1].
PROFILED_RUN = """
import cProfile, runpy, sys, time
output, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
profile = cProfile.Profile(time.process_time)
profile.enable()
runpy.run_path(script, run_name="__main__")
profile.disable()
profile.dump_stats(output)
"""

#: Rows measured another way, and what stands for them here.
ALIASES = {"hooks-calls": "request-sync-urllib3", "accumulate-linear": "accumulate-8mb"}


def package_dirs() -> List[str]:
    """Where this library's code lives: the core, and the folders mapped under it."""
    import openai_bindings.providers
    import openai_bindings.transports

    paths = [os.path.dirname(openai_bindings.__file__)]
    paths += list(openai_bindings.transports.__path__) + list(openai_bindings.providers.__path__)
    return [os.path.realpath(path) + os.sep for path in paths]


def _where(key: Tuple[str, int, str], root: str) -> str:
    filename, line, name = key
    if filename.startswith(root):
        filename = filename[len(root) :]
    elif filename == "~":
        return name
    else:
        filename = os.path.join(*filename.split(os.sep)[-2:])
    return f"{filename}:{line}({name})"


def print_stats(stats: pstats.Stats, top: int) -> None:
    """Top cumulative costs inside the library, then top self times anywhere, as shares."""
    table: Dict[Tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    root = os.path.realpath(run.ROOT) + os.sep
    ours = package_dirs()
    inside = [
        (key, value) for key, value in table.items() if os.path.realpath(key[0]).startswith(tuple(ours))
    ]
    print(f"profiled CPU: {total:.3f} s\n")
    print(f"top {top} cumulative costs inside openai_bindings (share of the profiled time):")
    print(f"{'cumulative':>10} {'self':>7} {'calls':>9}  function")
    for key, (_cc, calls, self_time, cumulative, _callers) in sorted(inside, key=lambda kv: -kv[1][3])[:top]:
        print(f"{cumulative / total:>10.1%} {self_time / total:>7.1%} {calls:>9}  {_where(key, root)}")
    print(f"\ntop {top} self times anywhere:")
    print(f"{'self':>7} {'calls':>9}  function")
    for key, (_cc, calls, self_time, _cumulative, _callers) in sorted(
        table.items(), key=lambda kv: -kv[1][2]
    )[:top]:
        print(f"{self_time / total:>7.1%} {calls:>9}  {_where(key, root)}")


def profile_row(row: run.RowSpec, tool: str, top: int, repeat: int) -> None:
    assert row.profile is not None
    name, workload, scenario, arguments = row.profile
    cls, module = CLIENTS[name]
    with BenchServer() as server:
        client = cls()
        loop: Any = None
        if client.is_async:
            import asyncio

            loop = asyncio.new_event_loop()
        args = {"base": server.url(scenario), **arguments}

        def once() -> Any:
            result = getattr(client, workload)(**args)
            return loop.run_until_complete(result) if loop is not None else result

        once()  # warm-up: connections, caches, lazy imports
        print(f"{row.id}: {name}.{workload}({scenario}, {arguments}) x {repeat}, with {tool}\n")
        try:
            if tool == "pyinstrument":
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled" if loop is not None else "disabled")
                profiler.start()
                for _ in range(repeat):
                    once()
                profiler.stop()
                print(profiler.output_text(unicode=True, color=False))
            else:
                profile = cProfile.Profile(time.process_time)  # CPU, as run.py measures
                profile.enable()
                for _ in range(repeat):
                    once()
                profile.disable()
                print_stats(pstats.Stats(profile), top)
        finally:
            close = getattr(client, "close", None)
            if close is not None:
                result = close()
                if loop is not None:
                    loop.run_until_complete(result)
                    loop.close()


def profile_process(row: run.RowSpec, top: int) -> None:
    """Import and cold start: a fresh interpreter under cProfile (and -X importtime for imports)."""
    with BenchServer() as server, tempfile.TemporaryDirectory() as work:
        script = os.path.join(work, "cold.py")
        with open(script, "w") as out:
            out.write(run.COLD["ours"] if row.id == "cold-start" else "import openai_bindings\n")
        output = os.path.join(work, "cold.prof")
        command = [sys.executable, "-c", PROFILED_RUN, output, script, server.url("chat"), KEY, MODEL]
        subprocess.run(command, env=run.child_env(), cwd=work, check=True, timeout=120, capture_output=True)
        print(f"{row.id}: a fresh interpreter under cProfile\n")
        print_stats(pstats.Stats(output), top)
        if row.id == "import":
            _, err = run._python("import openai_bindings", flags=["-X", "importtime"])
            rows = []
            for line in err.splitlines()[1:]:
                parts = line.split("|")
                if len(parts) == 3 and parts[0].startswith("import time:"):
                    rows.append((int(parts[0].split(":")[1]), parts[2].strip()))
            print(f"\ntop {top} modules by their own import time (-X importtime, µs):")
            for micros, module in sorted(rows, reverse=True)[:top]:
                print(f"{micros:>8}  {module}")


def import_chains(modules: Tuple[str, ...]) -> None:
    """sync-no-asyncio: which import loaded each of ``modules`` in a sync client's life."""
    with BenchServer() as server:
        args = (json.dumps(MESSAGES), MODEL, KEY, server.url("chat"), server.url("stream-10"))
        _, err = run._python(run.SYNC_IMPORTS, *args, flags=["-X", "importtime"])
    lines = [line.split("|")[2] for line in err.splitlines() if line.count("|") == 2][1:]
    for wanted in modules:
        # -X importtime lists a module after what it imported, one more space deeper per level
        found = [i for i, name in enumerate(lines) if name.strip() == wanted]
        if not found:
            print(f"{wanted}: not imported")
            continue
        chain, index = [wanted], found[0]
        depth = len(lines[index]) - len(lines[index].lstrip())
        for name in lines[index + 1 :]:
            level = len(name) - len(name.lstrip())
            if level < depth:
                chain.append(name.strip())
                depth = level
        print(f"{wanted} was imported by: {' <- '.join(chain[1:]) or 'the script itself'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("row", help="a row id (python bench/run.py --list)")
    parser.add_argument("--tool", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="runs of the row's workload to profile")
    args = parser.parse_args()
    row = run.ROWS.get(ALIASES.get(args.row, args.row))
    if row is None:
        parser.error(f"unknown row {args.row!r}; rows: {', '.join(run.ROWS)}")
    if row.id == "sync-no-asyncio":
        import_chains(("asyncio", "aiohttp"))
    elif row.id in ("import", "cold-start"):
        profile_process(row, args.top)
    elif row.profile is None:
        parser.error(f"{row.id} has nothing to profile (rss rows: use tracemalloc)")
    else:
        profile_row(row, args.tool, args.top, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
