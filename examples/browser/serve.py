"""Serve the browser example on 127.0.0.1: the page, Pyodide's files and the wheels, from one origin.

    python examples/browser/serve.py [--port 8000] [--pyodide DIR] [--wheels DIR ...]

``/`` is this folder (the page and ``chat.py``), ``/pyodide/`` the pyodide npm package's
files, ``/wheels/`` the wheels the page installs with micropip, listed in
``/wheels/index.json`` (micropip itself, then pluggy, then the rest). The defaults are
where ``bash .ci/wasm-setup`` puts Pyodide and the micropip/pluggy wheels, and this
folder's ``wheels/`` for the library's own (``pip wheel --no-deps -w examples/browser/wheels .``).
Standard library only; it prints its URL and serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
CACHE = Path(
    os.environ.get("OPENAI_BINDINGS_WASM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "openai-bindings" / "wasm"
)


def wheel_index(folders: Sequence[Path]) -> Dict[str, Any]:
    """The newest wheel of each distribution, micropip apart, pluggy first (the others need it)."""
    newest: Dict[str, Path] = {}
    for folder in folders:
        for wheel in folder.glob("*.whl"):
            name = wheel.name.split("-", 1)[0].lower()
            if name not in newest or wheel.stat().st_mtime > newest[name].stat().st_mtime:
                newest[name] = wheel
    micropip = newest.pop("micropip", None)
    order = sorted(newest, key=lambda name: (name != "pluggy", name))
    return {"micropip": micropip.name if micropip else None, "wheels": [newest[name].name for name in order]}


class Handler(SimpleHTTPRequestHandler):
    """Three folders behind one origin; nothing cached, so a rebuilt wheel is picked up."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".whl": "application/zip",
        ".py": "text/plain; charset=utf-8",
    }

    def __init__(self, *args: Any, root: Path, pyodide: Path, wheels: List[Path], **kwargs: Any) -> None:
        self.root, self.pyodide, self.wheels = root, pyodide, wheels
        super().__init__(*args, directory=str(root), **kwargs)

    def translate_path(self, path: str) -> str:
        local = path.split("?", 1)[0].split("#", 1)[0]
        if local.startswith("/pyodide/"):
            return str(self.pyodide / local[len("/pyodide/") :])
        if local.startswith("/wheels/"):
            name = Path(local).name
            for folder in self.wheels:
                if (folder / name).is_file():
                    return str(folder / name)
            return str(self.wheels[0] / name)
        return super().translate_path(path)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/wheels/index.json":
            body = json.dumps(wheel_index(self.wheels)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--root", type=Path, default=HERE, help="the page's folder (default: this one)")
    parser.add_argument("--pyodide", type=Path, default=CACHE / "node_modules" / "pyodide")
    parser.add_argument(
        "--wheels",
        type=Path,
        action="append",
        help=f"a folder of wheels (repeatable; default: {CACHE / 'wheels'} and {HERE / 'wheels'})",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    wheels = [folder for folder in args.wheels or [CACHE / "wheels", HERE / "wheels"] if folder.is_dir()]
    problems = []
    if not (args.pyodide / "pyodide.mjs").is_file():
        problems.append(f"no Pyodide in {args.pyodide} (run `bash .ci/wasm-setup`, or pass --pyodide)")
    index = wheel_index(wheels)
    if not index["micropip"] or not any(w.startswith("openai_bindings-") for w in index["wheels"]):
        problems.append(
            "the wheels need micropip, pluggy and openai_bindings (run `bash .ci/wasm-setup` and "
            "`pip wheel --no-deps -w examples/browser/wheels .`)"
        )
    if problems:
        sys.stderr.write("serve.py: " + "; ".join(problems) + "\n")
        return 2
    handler = partial(Handler, root=args.root.resolve(), pyodide=args.pyodide.resolve(), wheels=wheels)
    server = ThreadingHTTPServer((args.host, args.port), handler)
    server.daemon_threads = True
    server.verbose = args.verbose  # type: ignore[attr-defined]
    print(f"serving http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
