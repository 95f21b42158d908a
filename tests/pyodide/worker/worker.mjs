// Boots Pyodide inside a module worker from the page's origin, installs the wheels with micropip,
// runs checks.py's main() and posts its JSON result back to the page.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const here = (path) => new URL(path, self.location.href).href;
self.onmessage = async ({ data }) => {
  try {
    postMessage({ status: "Loading Pyodide in the worker…" });
    const pyodide = await loadPyodide({ indexURL: here("./pyodide/") });
    const index = await (await fetch(here("./wheels/index.json"))).json();
    await pyodide.loadPackage(here(`./wheels/${index.micropip}`));
    const micropip = pyodide.pyimport("micropip");
    for (const wheel of index.wheels) await micropip.install(here(`./wheels/${wheel}`));
    pyodide.globals.set("API", data.api);
    pyodide.runPython(await (await fetch(here("checks.py"))).text());
    postMessage({ status: "Running the checks…" });
    const result = await pyodide.runPythonAsync("import json; json.dumps(await main())");
    postMessage({ status: "done", result, state: "done" });
  } catch (error) {
    postMessage({ status: `failed: ${error.message || error}`, state: "error" });
  }
};
