// Python inside Pyodide under Node, for tests/test_pyodide.py.
//
//   node harness.mjs PYODIDE_DIR WHEEL...
//
// Boots Pyodide from the pinned npm package (no network: everything is read from PYODIDE_DIR),
// loads micropip from its wheel, installs the other wheels in the order given with micropip from
// the in-memory file system, then runs tests/pyodide/harness.py and serves requests line by line:
//   stdin  {"id": N, "code": "..."}            code defines `async def main()`
//   stdout {"id": N, "ok": true, "result": ...} or {"id": N, "ok": false, "type", "error", "traceback"}
//   stdout {"report": "...", ...}               progress a test waits on (e.g. a first streamed event)
// Python's own output goes to stderr. It exits when stdin closes or after IDLE_MS without a request.
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const IDLE_MS = 300_000;
const [pyodideDir, ...wheels] = process.argv.slice(2);
if (!pyodideDir) {
  process.stderr.write("usage: node harness.mjs PYODIDE_DIR WHEEL...\n");
  process.exit(2);
}

const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
globalThis.harnessReport = (text) => process.stdout.write(text + "\n");

const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, "pyodide.mjs")).href);
const toStderr = (line) => process.stderr.write(line + "\n");
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/", stdout: toStderr, stderr: toStderr });

const micropip = wheels.find((path) => basename(path).startsWith("micropip-"));
await pyodide.loadPackage(micropip, { messageCallback: () => {} });
pyodide.FS.mkdirTree("/wheels");
const urls = [];
for (const path of wheels.filter((path) => path !== micropip)) {
  pyodide.FS.writeFile(`/wheels/${basename(path)}`, readFileSync(path));
  urls.push(`emfs:/wheels/${basename(path)}`);
}
pyodide.globals.set("_wheels", pyodide.toPy(urls));
// One at a time, in order: each wheel's dependencies are then already installed (no index here).
await pyodide.runPythonAsync(`
import micropip
for _wheel in _wheels:
    await micropip.install(_wheel)
`);
pyodide.runPython(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "harness.py"), "utf8"));
send({ ready: true, python: pyodide.runPython("import sys; sys.version.split()[0]") });

let idle = setTimeout(() => process.exit(3), IDLE_MS);
const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  clearTimeout(idle);
  queue = queue.then(async () => {
    const { id, code } = JSON.parse(line);
    pyodide.globals.set("_code", code);
    const answer = JSON.parse(await pyodide.runPythonAsync("await serve(_code)"));
    send({ id, ...answer });
    idle = setTimeout(() => process.exit(3), IDLE_MS);
  });
});
lines.on("close", () => queue.then(() => process.exit(0)));
