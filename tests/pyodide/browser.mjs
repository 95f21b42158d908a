// Drive a page of the browser example in headless Chromium, for tests/test_pyodide.py.
//
//   node browser.mjs PLAYWRIGHT_CORE_DIR URL SCREENSHOT [QUESTION | --watch]
//
// Opens URL, waits for the page to be ready (body[data-state]), asks QUESTION, prints
// {"report": "first", "text": ...} as soon as the answer shows its first piece (the test then
// lets the server send the rest), waits for the end, saves a screenshot and prints the outcome
// as one JSON line. With --watch it only waits for the page to finish by itself (body[data-state]
// "done" or "error") and reports #result too. Debian's chromium (CHROMIUM, default
// /usr/bin/chromium); it gives up by itself.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const LIMIT_MS = 150_000;
const [playwrightDir, url, screenshot, question = "Tell me about WebAssembly"] = process.argv.slice(2);
setTimeout(() => {
  process.stdout.write(JSON.stringify({ done: true, state: "timeout", error: `over ${LIMIT_MS} ms` }) + "\n");
  process.exit(4);
}, LIMIT_MS).unref();

const { chromium } = await import(pathToFileURL(join(playwrightDir, "index.mjs")).href);
const print = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ],
});
const logs = [];
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 560 } });
  page.on("console", (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => logs.push(`pageerror: ${error.message}`));
  await page.goto(url);
  const state = () => page.evaluate(() => document.body.dataset.state);
  const text = (id) => page.evaluate((id) => document.getElementById(id)?.textContent ?? null, id);
  if (question === "--watch") {
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 120_000 });
  } else {
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 100_000 });
  }
  if (question !== "--watch" && (await state()) === "ready") {
    await page.fill("#question", question);
    await page.click("#ask");
    await page.waitForFunction(
      () => document.getElementById("answer").textContent || document.body.dataset.state === "error",
      null, { timeout: 30_000 },
    );
    print({ report: "first", text: await text("answer") });
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 30_000 });
  }
  await page.screenshot({ path: screenshot });
  print({
    done: true,
    state: await state(),
    status: await text("status"),
    answer: await text("answer"),
    result: await text("result"),
    logs,
  });
} catch (error) {
  print({ done: true, state: "driver-error", error: String(error), logs });
} finally {
  await browser.close();
}
