// What the end-to-end tests need around them: a real `chat serve` on a free port with its own
// data directory (restartable on the same port and data), and Debian's Chromium driven by
// playwright-core. Nothing here downloads a browser.

import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const WEB_DIR = path.resolve(import.meta.dirname, "..");
export const REPO = path.resolve(WEB_DIR, "..");
export const SCREENSHOTS = path.join(WEB_DIR, "e2e", "screenshots");

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One `chat serve` process; `stop` + `start` restarts it on the same port and data dir. */
export class ChatServer {
  constructor() {
    this.bin = path.resolve(REPO, process.env.CHAT_BIN ?? "target/debug/chat");
    this.webDir = path.join(WEB_DIR, "dist");
    this.dataDir = mkdtempSync(path.join(os.tmpdir(), "chat-e2e-"));
    this.port = 0;
    this.proc = null;
    this.starts = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!existsSync(this.bin)) throw new Error(`chat binary not found at ${this.bin} (set CHAT_BIN)`);
    if (!existsSync(path.join(this.webDir, "index.html"))) {
      throw new Error(`${this.webDir}/index.html is missing: run npm run build first`);
    }
    if (!this.port) this.port = await freePort();
    mkdirSync(SCREENSHOTS, { recursive: true });
    this.starts += 1;
    const log = createWriteStream(path.join(SCREENSHOTS, `server-${this.starts}.log`));
    const args = [
      "serve",
      "--bind",
      `127.0.0.1:${this.port}`,
      "--data-dir",
      this.dataDir,
      "--web-dir",
      this.webDir,
    ];
    const proc = spawn(this.bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    const tail = [];
    const keep = (chunk) => {
      log.write(chunk);
      tail.push(String(chunk));
      if (tail.length > 40) tail.shift();
    };
    proc.stdout.on("data", keep);
    proc.stderr.on("data", keep);
    let exited = null;
    proc.on("exit", (code, signal) => {
      exited = { code, signal };
      log.end();
    });

    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(`chat serve exited early (${JSON.stringify(exited)}):\n${tail.join("")}`);
      }
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`chat serve did not answer /healthz within 60 s:\n${tail.join("")}`);
  }

  /** SIGTERM (graceful: sockets closed with 1001), SIGKILL if it lingers. */
  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
    this.proc = null;
  }

  killNow() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }

  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/test-web does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A page whose console errors and uncaught exceptions are collected. `errors` is the list;
 * `allowErrors` opens a window in which errors are expected (a server that is down).
 */
export async function trackedPage(context, name) {
  const page = await context.newPage();
  const errors = [];
  let allowing = false;
  page.on("console", (msg) => {
    if (msg.type() === "error" && !allowing) errors.push(`[${name}] console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => errors.push(`[${name}] pageerror: ${err.message}`));
  return {
    page,
    errors,
    allowErrors(on) {
      allowing = on;
    },
  };
}

export async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** This run's tag in e-mail addresses and texts, so reruns against one server never collide. */
export const STAMP = Date.now().toString(36);

/**
 * One user's own browser context (en-GB, Paris time) with a tracked page. `tag` goes into the
 * e-mail address; `timeout` is the context's default wait.
 */
export async function openUser(
  browser,
  name,
  { viewport = { width: 1280, height: 800 }, tag = "", timeout = 15_000 } = {},
) {
  const context = await browser.newContext({ viewport, locale: "en-GB", timezoneId: "Europe/Paris" });
  context.setDefaultTimeout(timeout);
  const tracked = await trackedPage(context, name);
  return { name, email: `${name.toLowerCase()}${tag}-${STAMP}@example.test`, context, ...tracked };
}

/** Signs `u` up through the client's sign-up form; afterwards `u.id` is its user id. */
export async function signUp(server, u) {
  const { page } = u;
  await page.goto(server.url + "/signup");
  await page.getByLabel("Name").fill(u.name);
  await page.getByLabel("Email").fill(u.email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
  const me = await u.context.request.get(`${server.url}/api/me`);
  u.id = (await me.json())._id;
}

/**
 * Posts `text` to `roomId` over REST with `u`'s cookie and answers the stored message. Like any
 * well-behaved client it sends a `client_id` and, when the server answers 503 (overloaded, as a
 * loaded CI machine can make it), sends again after the `Retry-After` it was given, so the retry
 * is stored once.
 */
export async function postMessage(server, u, roomId, text, { attempts = 5 } = {}) {
  const data = { message: text, client_id: `e2e-${STAMP}-${Math.random().toString(36).slice(2)}` };
  for (let attempt = 1; ; attempt++) {
    const res = await u.context.request.post(`${server.url}/api/messages/${roomId}`, { data });
    if (res.status() === 503 && attempt < attempts) {
      const seconds = Number(res.headers()["retry-after"] ?? "1");
      await new Promise((resolve) => setTimeout(resolve, 1000 * (Number.isFinite(seconds) ? seconds : 1)));
      continue;
    }
    if (res.status() !== 201) {
      throw new Error(`POST /api/messages answered ${res.status()}: ${await res.text()}`);
    }
    return res.json();
  }
}

/** Types `text` into the composer and sends it with Enter. */
export async function send(page, text) {
  const box = page.locator("#composer-input");
  await box.fill(text);
  await box.press("Enter");
}
