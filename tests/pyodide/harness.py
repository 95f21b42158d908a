"""Inside Pyodide: run a test's code and answer as JSON (loaded by harness.mjs).

A test's code defines ``async def main()`` returning something JSON-serialisable; it
may call ``report(kind, **data)`` to tell the test something while it still runs.
"""

import json
import traceback

import js


def report(kind, **data):
    js.harnessReport(json.dumps({"report": kind, **data}))


async def serve(code):
    namespace = {"__name__": "__pyodide_test__", "report": report}
    try:
        exec(compile(code, "<test>", "exec"), namespace)
        result = await namespace["main"]()
        return json.dumps({"ok": True, "result": result})
    except BaseException as error:  # the test reads the type and the traceback
        return json.dumps(
            {
                "ok": False,
                "type": type(error).__name__,
                "error": str(error),
                "traceback": traceback.format_exc(),
            }
        )
