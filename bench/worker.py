"""One client in its own process, timing itself when told to (run.py drives it).

    python bench/worker.py CLIENT        # then JSON commands on stdin, one answer per line

Its own process, so no client pays for another's imports, caches or garbage, and the CPU
time it reports (``time.process_time``: every thread of this process) is its own. Commands:

    {"op": "run", "workload": W, "args": {...}}  -> {"cpu": s, "wall": s, "check": n}
    {"op": "hookcalls", "request": BASE, "stream": BASE, "count": n}
                                                  -> {"pluggy": {hook: calls}, "plugin": {...}}
    {"op": "rss", "base": BASE, "warm": n, "count": n} -> {"rss_before": KiB, "rss_after": KiB, "hwm": KiB}
    {"op": "exit"}

It exits when its stdin closes, so it never outlives the bench.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from typing import Any, Dict, TextIO

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clients  # a sibling module, found through the line above


def proc_status(field: str) -> int:
    """A ``/proc/self/status`` memory field in KiB (VmRSS, VmHWM); 0 where there is no /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Worker:
    def __init__(self, name: str) -> None:
        cls, _module = clients.CLIENTS[name]
        self.client = cls()
        self.loop: Any = None
        if self.client.is_async:
            import asyncio

            self.loop = asyncio.new_event_loop()

    def call(self, workload: str, args: Dict[str, Any]) -> Any:
        result = getattr(self.client, workload)(**args)
        return self.loop.run_until_complete(result) if self.loop is not None else result

    def run(self, workload: str, args: Dict[str, Any]) -> Dict[str, Any]:
        gc.collect()  # each round starts with the same heap, whatever the last one left
        cpu, wall = time.process_time(), time.perf_counter()
        check = self.call(workload, args)
        return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "check": check}

    def hookcalls(self, request: str, stream: str, count: int) -> Dict[str, Any]:
        """Hook calls during ``count`` requests and ``count`` streams, seen by pluggy and by our plugin."""
        from openai_bindings.plugins import get_plugin_manager

        self.call("request", {"base": request, "count": 1})  # built before counting, as in use
        self.call("stream", {"base": stream, "count": 1})
        seen: Dict[str, int] = {}

        def before(name: str, impls: Any, kwargs: Any) -> None:
            seen[name] = seen.get(name, 0) + 1

        before_plugin = dict(clients.NOOP_CALLS)
        undo = get_plugin_manager().add_hookcall_monitoring(before, lambda *args: None)
        try:
            self.call("request", {"base": request, "count": count})
            self.call("stream", {"base": stream, "count": count})
        finally:
            undo()
        plugin = {name: calls - before_plugin.get(name, 0) for name, calls in clients.NOOP_CALLS.items()}
        return {"pluggy": seen, "plugin": plugin, "calls": 2 * count}

    def rss(self, base: str, warm: int, count: int) -> Dict[str, Any]:
        self.call("request", {"base": base, "count": warm})
        gc.collect()
        before = proc_status("VmRSS")
        self.call("request", {"base": base, "count": count})
        gc.collect()
        return {"rss_before": before, "rss_after": proc_status("VmRSS"), "hwm": proc_status("VmHWM")}

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            result = close()
            if self.loop is not None:
                if result is not None:
                    self.loop.run_until_complete(result)
                self.loop.close()


def serve(name: str, commands: TextIO, answers: TextIO) -> None:
    def answer(value: Dict[str, Any]) -> None:
        answers.write(json.dumps(value) + "\n")
        answers.flush()

    try:
        worker = Worker(name)
    except Exception:
        answer({"error": traceback.format_exc()})
        return
    answer({"ready": True, "pid": os.getpid()})
    try:
        for line in commands:
            command = json.loads(line)
            op = command.pop("op")
            if op == "exit":
                break
            try:
                if op == "run":
                    answer(worker.run(command["workload"], command.get("args", {})))
                else:
                    answer(getattr(worker, op)(**command))
            except Exception:
                answer({"error": traceback.format_exc()})
    finally:
        worker.close()


def main() -> None:
    answers = sys.stdout
    sys.stdout = sys.stderr  # nothing a library prints can garble the answers
    serve(sys.argv[1], sys.stdin, answers)


if __name__ == "__main__":
    main()
