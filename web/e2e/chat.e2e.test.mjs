// End-to-end: the built web app served by a real `chat serve`, driven in Debian's Chromium.
// The steps share one server and two users (Ann and Bob, each in a browser context of their
// own), so they run in order; each leaves screenshots in e2e/screenshots/.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChatServer, STAMP as stamp, launchBrowser, openUser, postMessage, send, shot } from "./harness.mjs";

const server = new ChatServer();
let browser;
const users = {};
let roomId;

/** One user's browser: a context with its own cookie jar, and one page in it. */

const messages = (page) => page.locator('[data-testid="message"]');
const lastMessage = (page) => messages(page).last();

/** The seq numbers rendered in the open room, top to bottom. */
async function renderedSeqs(page) {
  return page.$$eval('[data-testid="message"][data-seq]', (els) => els.map((e) => Number(e.dataset.seq)));
}

function assertGapless(seqs, what) {
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], seqs[i - 1] + 1, `${what}: seq ${seqs[i - 1]} is followed by ${seqs[i]}`);
  }
}

/** Signs up the way a newcomer does: landing page, login, the link to the sign-up form. */
async function signUpFromLanding(u) {
  const { page } = u;
  await page.goto(server.url + "/");
  await page.waitForURL(/\/login$/);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.waitForURL(/\/signup$/);
  await page.getByLabel("Name").fill(u.name);
  await page.getByLabel("Email").fill(u.email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

describe("chat web client against chat serve", { timeout: 300_000 }, () => {
  before(async () => {
    await server.start();
    browser = await launchBrowser();
    users.ann = await openUser(browser, "Ann", { timeout: 30_000 });
    users.bob = await openUser(browser, "Bob", { timeout: 30_000 });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server.dispose();
  });

  test("an anonymous visitor lands on the login page", async () => {
    const { page } = users.ann;
    await page.goto(server.url + "/chat/nowhere");
    await page.waitForURL(/\/login$/);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await shot(page, "01-login");
  });

  test("wrong credentials show an error, not a blank page", async () => {
    const { page } = users.ann;
    users.ann.allowErrors(true); // the browser logs the 401 of the login request
    await page.getByLabel("Email").fill("nobody@example.test");
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong email or password" }).waitFor();
    users.ann.allowErrors(false);
  });

  test("two users sign up", async () => {
    await signUpFromLanding(users.ann);
    await signUpFromLanding(users.bob);
    await users.ann.page.getByText("No conversations yet.").waitFor();
    await shot(users.ann.page, "02-signed-up");
  });

  test("Ann finds Bob in the people list and opens a room", async () => {
    const { page } = users.ann;
    await page.getByRole("tab", { name: "People" }).click();
    await page.getByLabel("Search people").fill("Bob");
    await page.getByRole("button", { name: /Chat with Bob/ }).click();
    await page.waitForURL(/\/chat\/[^/]+$/);
    roomId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
    await page.getByRole("heading", { name: /^Bob/ }).waitFor();
    await page.getByText("No messages yet. Say hello!").waitFor();
    await shot(page, "03-room-opened");
  });

  test("messages reach the other side live, own on the right and others on the left", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;

    await send(ann, `Hi Bob! ${stamp}`);
    const annOwn = lastMessage(ann);
    await annOwn.filter({ hasText: `Hi Bob! ${stamp}` }).waitFor();
    // Confirmed by its echo: it carries a seq and no longer says "Sending…".
    await ann.locator('[data-testid="message"][data-seq="1"]').waitFor();
    assert.match(await annOwn.getAttribute("class"), /\bown\b/);

    // Bob had no room yet: the message makes it appear in his sidebar without a reload.
    await bob.getByRole("link", { name: /Ann/ }).filter({ hasText: `Hi Bob! ${stamp}` }).click();
    await bob.getByRole("heading", { name: /^Ann/ }).waitFor();
    const bobSees = lastMessage(bob);
    await bobSees.filter({ hasText: `Hi Bob! ${stamp}` }).waitFor();
    assert.match(await bobSees.getAttribute("class"), /\bother\b/);

    // Shift+Enter breaks the line; Enter sends.
    const box = bob.locator("#composer-input");
    await box.fill("Hello Ann,");
    await box.press("Shift+Enter");
    await box.pressSequentially("how are you?");
    await box.press("Enter");
    await bob.locator('[data-testid="message"][data-seq="2"]').waitFor();
    assert.equal(await box.inputValue(), "");

    const annSees = ann.locator('[data-testid="message"][data-seq="2"]');
    await annSees.waitFor();
    assert.equal(await annSees.locator(".text").innerText(), "Hello Ann,\nhow are you?");
    assert.match(await annSees.getAttribute("class"), /\bother\b/);

    // Geometry, not only classes: Ann's own bubble sits right of Bob's.
    const ownBox = await ann.locator('[data-seq="1"] .bubble').boundingBox();
    const otherBox = await ann.locator('[data-seq="2"] .bubble').boundingBox();
    assert.ok(ownBox.x + ownBox.width > otherBox.x + otherBox.width + 100, "own bubble is not on the right");
    assert.ok(ownBox.x > otherBox.x + 100, "other bubble is not on the left");

    // The sidebar shows the last message and a day separator heads the history.
    await ann.getByRole("link", { name: /Bob/ }).filter({ hasText: "how are you?" }).waitFor();
    await ann.locator(".day-separator", { hasText: "Today" }).waitFor();
    await shot(ann, "04-ann-conversation");
    await shot(bob, "05-bob-conversation");
  });

  test("a reload keeps the session and the history", async () => {
    const { page } = users.ann;
    await page.reload();
    await page.getByRole("heading", { name: /^Bob/ }).waitFor();
    await page.locator('[data-testid="message"][data-seq="2"]').waitFor();
    assert.deepEqual(await renderedSeqs(page), [1, 2]);
  });

  test("scrolling up loads older pages without jumps or duplicates", async () => {
    // 130 more messages through the REST route, alternating senders (well under the rate limit).
    for (let i = 0; i < 130; i++) {
      await postMessage(server, i % 2 ? users.bob : users.ann, roomId, `history ${i + 3}`);
    }
    const total = 132;
    const { page } = users.bob;
    await page.reload();
    await page.locator(`[data-testid="message"][data-seq="${total}"]`).waitFor();
    let seqs = await renderedSeqs(page);
    assert.equal(seqs.length, 50, "the first load shows one page");
    assert.equal(seqs.at(-1), total);

    const list = page.getByRole("log", { name: "Messages" });
    // The newest message is in view: the list opened at the bottom.
    assert.ok(await page.locator(`[data-seq="${total}"]`).isVisible());
    await shot(page, "06-before-scroll-up");

    while (!(await page.getByText("This is the beginning of the conversation.").isVisible())) {
      const firstSeq = seqs[0];
      const anchor = page.locator(`[data-seq="${firstSeq}"]`);
      await list.evaluate((el) => (el.scrollTop = 0));
      const y0 = (await anchor.boundingBox()).y;
      await page.waitForFunction(
        (s) => Number(document.querySelector('[data-testid="message"][data-seq]')?.dataset.seq) < s,
        firstSeq,
      );
      // The message that was at the top stays where it was: older ones appear above, off view.
      const y1 = (await anchor.boundingBox()).y;
      assert.ok(Math.abs(y1 - y0) < 3, `the view jumped by ${y1 - y0}px when older messages loaded`);
      seqs = await renderedSeqs(page);
      await page.waitForTimeout(50);
    }
    seqs = await renderedSeqs(page);
    assert.equal(seqs.length, total);
    assert.equal(seqs[0], 1);
    assertGapless(seqs, "after scrolling to the top");
    await shot(page, "07-scrolled-to-top");
  });

  test("no console errors so far", () => {
    assert.deepEqual([...users.ann.errors, ...users.bob.errors], []);
  });

  test("a server restart is survived: reconnect, catch up, deliver what waited", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;
    // Ann is at the bottom of the room; Bob too.
    await bob.getByRole("log", { name: "Messages" }).evaluate((el) => (el.scrollTop = el.scrollHeight));
    users.ann.allowErrors(true); // while the server is down the browser logs refused connections
    users.bob.allowErrors(true);

    await server.stop();
    await ann.getByText("Connection lost. Reconnecting…").waitFor();
    await shot(ann, "08-reconnecting");

    // Written while the server is down: it waits, marked as sending.
    await send(ann, "sent while the server was down");
    await lastMessage(ann).filter({ hasText: "Sending…" }).waitFor();

    await server.start();
    // Bob writes through REST right away, whether or not the sockets are back yet.
    const missed = await postMessage(server, users.bob, roomId, "written right after the restart");

    await ann.getByText("Connection lost. Reconnecting…").waitFor({ state: "hidden", timeout: 30_000 });
    await ann.locator(`[data-testid="message"][data-seq="${missed.seq}"]`).waitFor();
    // Ann's waiting message went out after the reconnect and was confirmed.
    await ann
      .locator('[data-testid="message"][data-seq]')
      .filter({ hasText: "sent while the server was down" })
      .waitFor({ timeout: 30_000 });
    await bob
      .locator('[data-testid="message"][data-seq]')
      .filter({ hasText: "sent while the server was down" })
      .waitFor({ timeout: 30_000 });

    // Live delivery works again on both sides.
    await send(bob, "back to normal");
    await ann.locator('[data-testid="message"]').filter({ hasText: "back to normal" }).waitFor();

    for (const [name, page] of [["Ann", ann], ["Bob", bob]]) {
      const seqs = await renderedSeqs(page);
      assertGapless(seqs, name);
      assert.equal(new Set(seqs).size, seqs.length, `${name} shows a message twice`);
      assert.equal(await page.locator('[data-testid="message"]:not([data-seq])').count(), 0, `${name} still has pending sends`);
    }
    await shot(ann, "09-after-restart");
    users.ann.allowErrors(false);
    users.bob.allowErrors(false);
  });

  test("a refused send shows as failed with a retry button", async () => {
    const ann = users.ann.page;
    // Over the server's message size limit (16 KiB by default; "é" is two bytes): the socket
    // answers an error event for this client_id.
    await send(ann, "é".repeat(10_000));
    const failed = ann.locator('[data-testid="message"][data-status="failed"]');
    await failed.waitFor({ timeout: 15_000 });
    await failed.getByRole("button", { name: "Retry" }).waitFor();
    await shot(ann, "10-failed-send");
    await failed.getByRole("button", { name: "Discard" }).click();
    await failed.waitFor({ state: "detached" });
  });

  test("phone width: one pane at a time, with a way back", async () => {
    const phone = await openUser(browser, "Phone", { viewport: { width: 390, height: 844 }, timeout: 30_000 });
    const { page } = phone;
    await page.goto(server.url + "/login");
    await page.getByLabel("Email").fill(users.bob.email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Log in" }).click();
    const room = page.getByRole("link", { name: /Ann/ });
    await room.waitFor();
    await shot(page, "11-phone-list");
    await room.click();
    await page.getByRole("heading", { name: /^Ann/ }).waitFor();
    assert.equal(await page.getByRole("tab", { name: "Chats" }).isVisible(), false, "sidebar hidden in a room");
    await lastMessage(page).waitFor();
    await shot(page, "12-phone-room");
    await page.getByRole("link", { name: "Back to conversations" }).click();
    await room.waitFor();
    assert.deepEqual(phone.errors, []);
    await phone.context.close();
  });

  test("an expired session returns to the login page with a message", async () => {
    const { page, context } = users.bob;
    users.bob.allowErrors(true); // the browser logs the 401 that tells the app
    await context.clearCookies();
    await page.getByRole("tab", { name: "People" }).click();
    await page.getByText("Your session has expired. Please log in again.").waitFor();
    await page.waitForURL(/\/login$/);
    await shot(page, "13-session-expired");
    users.bob.allowErrors(false);
  });

  test("log out returns to the login page and stays there after a reload", async () => {
    const { page } = users.ann;
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/login$/);
    await page.reload();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.waitForURL(/\/login$/);
  });

  test("no console errors at the end", () => {
    assert.deepEqual([...users.ann.errors, ...users.bob.errors], []);
  });
});
