// End-to-end: message search in the web app against a real `chat serve`, in Debian's Chromium.
// Ann and Bob share a room with 150 messages; Carl has a room of his own with Bob. Bob searches
// all his rooms and finds both; Ann never sees Carl's; a hit far back opens the conversation at
// that message, highlighted, and "Latest" brings the newest messages back; a search limited to
// the open conversation finds only its messages. Steps run in order on one server.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChatServer, STAMP as stamp, launchBrowser, openUser, postMessage, shot, signUp } from "./harness.mjs";

const server = new ChatServer();
let browser;
const users = {};
const rooms = {};



/** The direct room of `a` and `b`, opened over REST with `a`'s cookie. */
async function roomOf(a, b) {
  const res = await a.context.request.post(`${server.url}/api/chats`, { data: { to_user_id: b.id } });
  assert.equal(res.status(), 200, await res.text());
  return (await res.json())._id;
}

async function search(page, words) {
  await page.getByRole("tab", { name: "Search" }).click();
  const box = page.getByLabel("Search messages");
  await box.fill(words);
  await box.press("Enter");
}

const hits = (page) => page.locator('[data-testid="hit"]');

describe("message search in the web client", { timeout: 300_000 }, () => {
  before(async () => {
    await server.start();
    browser = await launchBrowser();
    for (const name of ["Ann", "Bob", "Carl"]) {
      users[name.toLowerCase()] = await openUser(browser, name);
      await signUp(server, users[name.toLowerCase()]);
    }
    rooms.annBob = await roomOf(users.ann, users.bob);
    rooms.carlBob = await roomOf(users.carl, users.bob);
    // Well under the rate limit's burst: 150 messages, one about the lighthouse far back.
    for (let i = 1; i <= 150; i++) {
      const text = i === 20 ? "The <b>lighthouse</b> picnic is on Sunday" : `small talk ${i}`;
      await postMessage(server, i % 2 ? users.ann : users.bob, rooms.annBob, text);
    }
    await postMessage(server, users.carl, rooms.carlBob, "Carl's lighthouse photos");
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server.dispose();
  });

  test("Bob finds both rooms' messages, newest first, with the words marked", async () => {
    const { page } = users.bob;
    await page.reload();
    await search(page, "LIGHTHOUSE");
    await hits(page).nth(1).waitFor();
    assert.equal(await hits(page).count(), 2);
    assert.match(await hits(page).nth(0).textContent(), /Carl's lighthouse photos/);
    const first = hits(page).nth(1);
    assert.match(await first.textContent(), /The <b>lighthouse<\/b> picnic is on Sunday/);
    // The snippet's markup is text; the matching word is the one marked.
    assert.equal(await first.locator("b").count(), 0);
    assert.deepEqual(await first.locator("mark").allTextContents(), ["lighthouse"]);
    await shot(page, "s01-results");
  });

  test("Ann never finds Carl's room", async () => {
    const { page } = users.ann;
    await page.reload();
    await search(page, "lighthouse");
    await hits(page).first().waitFor();
    assert.equal(await hits(page).count(), 1);
    assert.doesNotMatch(await hits(page).first().textContent(), /Carl/);
    await search(page, "photos");
    await page.getByText("No messages match “photos”.").waitFor();
  });

  test("a hit far back opens the conversation at the message, highlighted", async () => {
    const { page } = users.ann;
    await search(page, "lighthouse picnic");
    await hits(page).first().click();
    await page.waitForURL(new RegExp(`/chat/${rooms.annBob}$`));
    const focused = page.locator('[data-testid="message"].focus');
    await focused.waitFor();
    assert.equal(await focused.getAttribute("data-seq"), "20");
    assert.match(await focused.textContent(), /The <b>lighthouse<\/b> picnic/);
    const list = page.getByRole("log", { name: "Messages" });
    const inView = await focused.evaluate((row) => {
      const view = row.closest('[role="log"]').getBoundingClientRect();
      const box = row.getBoundingClientRect();
      return box.top >= view.top && box.bottom <= view.bottom;
    });
    assert.ok(inView, "the focused message is scrolled into view");
    assert.equal(await page.locator('[data-testid="message"][data-seq="150"]').count(), 0);
    await shot(page, "s02-opened-at-hit");
    // Back to the newest messages.
    await page.getByRole("button", { name: "↓ Latest" }).click();
    await page.locator('[data-testid="message"][data-seq="150"]').waitFor();
    const seqs = await list.evaluate((el) =>
      [...el.querySelectorAll('[data-testid="message"][data-seq]')].map((e) => Number(e.dataset.seq)),
    );
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, "contiguous");
  });

  test("a search limited to the open conversation finds only its messages", async () => {
    const { page } = users.bob;
    await page.goto(`${server.url}/chat/${rooms.carlBob}`);
    await page.getByRole("heading", { name: "Carl" }).waitFor();
    await page.getByRole("tab", { name: "Search" }).click();
    await page.getByLabel("Only this conversation").check();
    await search(page, "lighthouse");
    await hits(page).first().waitFor();
    assert.equal(await hits(page).count(), 1);
    assert.match(await hits(page).first().textContent(), /Carl's lighthouse photos/);
    for (const u of Object.values(users)) assert.deepEqual(u.errors, []);
  });
});
