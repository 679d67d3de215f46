// End-to-end: conversation state in the web app against a real `chat serve`, in Debian's
// Chromium. Ann and Bob in a direct room: unread badges and the tab title, read ticks, typing,
// editing, reacting and deleting through the message menu, and a catch-up after Bob's laptop
// was "closed" while Ann sent, edited, deleted and reacted: everything appears, in order, once.
// Then "seen by" in a group. Steps run in order on one server.
//
// The lid: Bob's socket goes through Playwright's WebSocket routing, which the test can cut
// (and keep refusing) at will; the browser's offline emulation leaves open sockets alone.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChatServer, STAMP as stamp, launchBrowser, openUser, send, shot, signUp } from "./harness.mjs";

const server = new ChatServer();
let browser;
const users = {};
let roomId;




/** A confirmed message (it has a seq) with `text`. */
const bubble = (page, text) => page.locator('[data-testid="message"][data-seq]').filter({ hasText: text });
const roomLink = (page, name) => page.locator('[data-testid="room"]').filter({ hasText: name });

/** Posts as `u` through REST with the session cookie of its browser context. */
async function rest(u, method, path, body) {
  const res = await u.context.request.fetch(server.url + path, {
    method,
    data: body,
    headers: { origin: server.url },
  });
  assert.ok(res.ok(), `${method} ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

async function openMenu(page, text) {
  const row = bubble(page, text);
  await row.hover();
  await row.getByRole("button", { name: "Message actions" }).click();
  return row;
}

async function renderedSeqs(page) {
  return page.$$eval('[data-testid="message"][data-seq]', (els) => els.map((e) => Number(e.dataset.seq)));
}

/** Routes `u`'s sockets through the test: `lid.close()` cuts them and refuses new ones until
 * `lid.open()`. */
async function withLid(u) {
  let closed = false;
  const routes = new Set();
  await u.page.routeWebSocket(/\/ws\//, (ws) => {
    if (closed) {
      ws.close({ code: 1001, reason: "lid closed" });
      return;
    }
    routes.add(ws);
    ws.connectToServer();
    ws.onClose(() => routes.delete(ws));
  });
  return {
    close() {
      closed = true;
      for (const ws of routes) ws.close({ code: 1001, reason: "lid closed" });
      routes.clear();
    },
    open() {
      closed = false;
    },
  };
}

describe("conversation state in the web client", { timeout: 300_000 }, () => {
  before(async () => {
    await server.start();
    browser = await launchBrowser();
    users.ann = await openUser(browser, "Ann");
    users.bob = await openUser(browser, "Bob");
    users.bob.lid = await withLid(users.bob);
    for (const u of Object.values(users)) await signUp(server, u);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server.dispose();
  });

  test("an unread message shows a badge and the tab title, and reading it ticks it", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;
    await ann.getByRole("tab", { name: "People" }).click();
    await ann.getByLabel("Search people").fill("Bob");
    await ann.getByRole("button", { name: /Chat with Bob/ }).click();
    await ann.waitForURL(/\/chat\/[^/]+$/);
    roomId = decodeURIComponent(new URL(ann.url()).pathname.split("/").pop());

    await send(ann, `first ${stamp}`);
    await send(ann, `second ${stamp}`);
    const badge = roomLink(bob, "Ann").getByTestId("unread");
    await badge.filter({ hasText: "2" }).waitFor();
    await bob.waitForFunction(() => document.title.startsWith("(2) "));
    // Bob is online with the room unread: delivered, not read.
    await bubble(ann, `second ${stamp}`).locator('[data-tick="delivered"]').waitFor();
    await shot(bob, "c01-unread-badge");

    await roomLink(bob, "Ann").click();
    await bubble(bob, `second ${stamp}`).waitFor();
    await badge.waitFor({ state: "detached" });
    await bob.waitForFunction(() => !document.title.startsWith("("));
    await bubble(ann, `second ${stamp}`).locator('[data-tick="read"]').waitFor();
    await bubble(ann, `first ${stamp}`).locator('[data-tick="read"]').waitFor();
    await shot(ann, "c02-read-ticks");
  });

  test("typing shows on the other side and fades", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;
    await bob.locator("#composer-input").fill("I am writing");
    await ann.getByTestId("typing").filter({ hasText: "Bob is typing…" }).waitFor();
    await shot(ann, "c03-typing");
    await ann.getByTestId("typing").filter({ hasText: "Bob is typing…" }).waitFor({ state: "detached", timeout: 10_000 });
    await bob.locator("#composer-input").fill("");
  });

  test("the author edits through the menu; the other side shows it edited in place", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;
    await openMenu(ann, `first ${stamp}`);
    await ann.getByRole("menuitem", { name: "Edit" }).click();
    const editor = ann.getByLabel("Edit message");
    await editor.fill(`first, fixed ${stamp}`);
    await editor.press("Enter");
    const edited = bubble(bob, `first, fixed ${stamp}`);
    await edited.waitFor();
    await edited.locator(".edited").waitFor();
    assert.equal(await edited.getAttribute("data-seq"), "1");
    // Bob's menu on Ann's message has reactions but neither Edit nor Delete.
    await openMenu(bob, `first, fixed ${stamp}`);
    assert.equal(await bob.getByRole("menuitem", { name: "Edit" }).count(), 0);
    assert.equal(await bob.getByRole("menuitem", { name: "Delete" }).count(), 0);
    await bob.getByRole("menuitem", { name: "React 👍" }).click();
    await bubble(ann, `first, fixed ${stamp}`).getByRole("button", { name: "👍 1" }).waitFor();
    const mine = bubble(bob, `first, fixed ${stamp}`).getByRole("button", { name: "👍 1" });
    assert.equal(await mine.getAttribute("aria-pressed"), "true");
    await shot(ann, "c04-edited-and-reacted");
  });

  test("the author deletes; both sides show a tombstone in place", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;
    await openMenu(ann, `second ${stamp}`);
    await ann.getByRole("menuitem", { name: "Delete" }).click();
    for (const page of [ann, bob]) {
      const row = page.locator('[data-testid="message"][data-seq="2"]');
      await row.filter({ hasText: "Message deleted" }).waitFor();
      assert.equal(await row.getAttribute("data-deleted"), "true");
    }
    assert.deepEqual(await renderedSeqs(bob), [1, 2]);
  });

  test("after the laptop lid was closed, everything missed appears in order, once", async () => {
    const bob = users.bob.page;
    users.bob.lid.close();
    await bob.getByText("Connection lost. Reconnecting…").waitFor();

    const first = (await rest(users.ann, "GET", `/api/messages/${roomId}?limit=50`)).find((m) => m.seq === 1);
    const sent = [];
    for (const text of [`away one ${stamp}`, `away two ${stamp}`, `away three ${stamp}`]) {
      sent.push(await rest(users.ann, "POST", `/api/messages/${roomId}`, { message: text }));
    }
    await rest(users.ann, "PATCH", `/api/messages/${roomId}/${first._id}`, { message: `first, again ${stamp}` });
    await rest(users.ann, "DELETE", `/api/messages/${roomId}/${sent[1]._id}`);
    await rest(users.ann, "PUT", `/api/messages/${roomId}/${sent[0]._id}/reactions/${encodeURIComponent("🎉")}`);

    users.bob.lid.open();
    await bob.getByText("Connection lost. Reconnecting…").waitFor({ state: "hidden", timeout: 30_000 });
    await bubble(bob, `away three ${stamp}`).waitFor({ timeout: 30_000 });
    await bubble(bob, `first, again ${stamp}`).waitFor({ timeout: 30_000 });
    await bob.locator(`[data-testid="message"][data-seq="${sent[1].seq}"]`).filter({ hasText: "Message deleted" }).waitFor();
    await bubble(bob, `away one ${stamp}`).getByRole("button", { name: "🎉 1" }).waitFor();
    assert.deepEqual(await renderedSeqs(bob), [1, 2, 3, 4, 5]);
    assert.equal(await bob.locator('[data-testid="message"]').filter({ hasText: `away one ${stamp}` }).count(), 1);
    await shot(bob, "c05-caught-up");
  });

  test("a group shows how many have seen my latest message", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;
    await ann.getByRole("button", { name: "+ New group" }).click();
    await ann.getByLabel("Group name").fill(`Seen ${stamp}`);
    await ann.getByRole("checkbox", { name: "Bob", exact: true }).check();
    await ann.getByRole("button", { name: "Create group" }).click();
    await ann.waitForURL(/\/chat\/[^/]+$/);
    await ann.getByRole("heading", { name: `Seen ${stamp}` }).waitFor();
    await send(ann, `group hello ${stamp}`);
    await bubble(ann, `group hello ${stamp}`).waitFor();
    await roomLink(bob, `Seen ${stamp}`).click();
    await bubble(bob, `group hello ${stamp}`).waitFor();
    await ann.getByTestId("seen-by").filter({ hasText: "Seen by 1" }).waitFor();
    await shot(ann, "c06-seen-by");
  });

  test("no console errors", () => {
    assert.deepEqual([...users.ann.errors, ...users.bob.errors], []);
  });
});
