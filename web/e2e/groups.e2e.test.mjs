// End-to-end: group rooms in the web app against a real `chat serve`, in Debian's Chromium.
// Ann creates a group with Bob and Carl; the three talk live with sender names; Ann renames it
// and removes Carl, who stops seeing it at once; Bob leaves; Ann adds Carl back. Steps run in order on one server.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChatServer, STAMP as stamp, launchBrowser, openUser, send, shot, signUp } from "./harness.mjs";

const server = new ChatServer();
let browser;
const users = {};
let roomId;




const bubble = (page, text) => page.locator('[data-testid="message"]').filter({ hasText: text });
const systemLine = (page, text) => page.locator('[data-testid="system"]').filter({ hasText: text });
const groupInList = (page, name) => page.locator('[data-testid="room"]').filter({ hasText: name });

/** The message with `text` shows `sender` above it (the run's first message). */
async function assertSender(page, text, sender) {
  const row = bubble(page, text);
  await row.waitFor();
  assert.equal(await row.locator(".sender-name").textContent(), sender);
}

describe("group rooms in the web client", { timeout: 300_000 }, () => {
  before(async () => {
    await server.start();
    browser = await launchBrowser();
    users.ann = await openUser(browser, "Ann");
    users.bob = await openUser(browser, "Bob");
    users.carl = await openUser(browser, "Carl");
    for (const u of Object.values(users)) await signUp(server, u);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server.dispose();
  });

  test("Ann creates a group with Bob and Carl", async () => {
    const { page } = users.ann;
    await page.getByRole("button", { name: "+ New group" }).click();
    await page.getByLabel("Group name").fill(`Crew ${stamp}`);
    await page.getByRole("checkbox", { name: "Bob", exact: true }).check();
    await page.getByRole("checkbox", { name: "Carl", exact: true }).check();
    await page.getByRole("button", { name: "Create group" }).click();
    await page.waitForURL(/\/chat\/[^/]+$/);
    roomId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
    await page.getByRole("heading", { name: `Crew ${stamp}` }).waitFor();
    await systemLine(page, `You created the group Crew ${stamp}`).waitFor();
    await page.getByRole("button", { name: /3 members/ }).waitFor();
    await shot(page, "g01-group-created");
  });

  test("the group reaches Bob's and Carl's lists live; they open it", async () => {
    for (const u of [users.bob, users.carl]) {
      const room = groupInList(u.page, `Crew ${stamp}`);
      await room.waitFor();
      await room.click();
      await u.page.getByRole("heading", { name: `Crew ${stamp}` }).waitFor();
      await systemLine(u.page, `Ann created the group Crew ${stamp}`).waitFor();
    }
    await shot(users.bob.page, "g02-bob-sees-group");
  });

  test("three users talk live, with sender names on others' messages", async () => {
    await send(users.ann.page, `hello crew ${stamp}`);
    await assertSender(users.bob.page, `hello crew ${stamp}`, "Ann");
    await assertSender(users.carl.page, `hello crew ${stamp}`, "Ann");
    await bubble(users.ann.page, `hello crew ${stamp}`).locator(":scope:not(.pending)").waitFor();
    assert.equal(await bubble(users.ann.page, `hello crew ${stamp}`).locator(".sender").count(), 0);

    await send(users.bob.page, `hi from Bob ${stamp}`);
    await assertSender(users.ann.page, `hi from Bob ${stamp}`, "Bob");
    await assertSender(users.carl.page, `hi from Bob ${stamp}`, "Bob");

    await send(users.carl.page, `Carl here ${stamp}`);
    await assertSender(users.ann.page, `Carl here ${stamp}`, "Carl");
    await assertSender(users.bob.page, `Carl here ${stamp}`, "Carl");
    await shot(users.carl.page, "g03-three-talk");
  });

  test("the header lists members and roles; Ann renames the group", async () => {
    const { page } = users.ann;
    await page.getByRole("button", { name: /3 members/ }).click();
    const panel = page.getByRole("complementary", { name: "Group details" });
    const ann = panel.getByTestId("member").filter({ hasText: "Ann (you)" });
    assert.equal(await ann.locator(".role").textContent(), "owner");
    const bob = panel.getByTestId("member").filter({ hasText: "Bob" });
    assert.equal(await bob.locator(".role").textContent(), "member");
    await panel.getByRole("button", { name: "Make Bob an admin" }).click();
    await bob.locator(".role-admin").waitFor();
    await systemLine(users.bob.page, "Ann made you an admin").waitFor();

    await panel.getByLabel("Group name").fill(`Crew renamed ${stamp}`);
    await panel.getByRole("button", { name: "Rename" }).click();
    await page.getByRole("heading", { name: `Crew renamed ${stamp}` }).waitFor();
    await users.bob.page.getByRole("heading", { name: `Crew renamed ${stamp}` }).waitFor();
    await systemLine(users.carl.page, `Ann renamed the group to Crew renamed ${stamp}`).waitFor();
    await shot(page, "g04-members-panel");
  });

  test("Ann removes Carl: Carl stops seeing the group at once", async () => {
    const { page } = users.ann;
    const panel = page.getByRole("complementary", { name: "Group details" });
    await panel.getByRole("button", { name: "Remove Carl" }).click();
    await page.getByRole("button", { name: /2 members/ }).waitFor();

    const carl = users.carl.page;
    await systemLine(carl, "Ann removed you").waitFor();
    await carl.getByText("You are no longer a member of this group.").waitFor();
    await carl.getByRole("heading", { name: `Crew renamed ${stamp}` }).waitFor();
    assert.equal(await carl.locator("#composer-input").count(), 0);
    await groupInList(carl, `Crew renamed ${stamp}`).waitFor({ state: "detached" });
    await systemLine(users.bob.page, "Ann removed Carl").waitFor();

    await send(page, `after Carl ${stamp}`);
    await bubble(users.bob.page, `after Carl ${stamp}`).waitFor();
    // Bob has it, so it was fanned out; Carl's socket must not have received it.
    await carl.waitForTimeout(500);
    assert.equal(await bubble(carl, `after Carl ${stamp}`).count(), 0);
    await shot(carl, "g05-carl-removed");

    // After a reload the group is gone from Carl's list, and its history is refused.
    await carl.goto(server.url + "/");
    await carl.getByRole("button", { name: "Log out" }).waitFor();
    await carl.getByText("No conversations yet.").waitFor();
    const res = await users.carl.context.request.get(`${server.url}/api/messages/${roomId}`);
    assert.equal(res.status(), 403);
  });

  test("Bob leaves; Ann sees it in the timeline", async () => {
    const bob = users.bob.page;
    await bob.getByRole("button", { name: /2 members/ }).click();
    await bob.getByRole("button", { name: "Leave group" }).click();
    await bob.waitForURL((url) => url.pathname === "/");
    await groupInList(bob, `Crew renamed ${stamp}`).waitFor({ state: "detached" });
    await systemLine(users.ann.page, "Bob left").waitFor();
    await users.ann.page.getByRole("button", { name: /1 member:/ }).waitFor();
    await shot(users.ann.page, "g06-bob-left");
  });

  test("Ann adds Carl back: the group returns to Carl's list live, with its history", async () => {
    const { page } = users.ann;
    const panel = page.getByRole("complementary", { name: "Group details" });
    await panel.getByLabel("Add people").fill("Carl");
    await panel.getByRole("button", { name: "Add Carl" }).click();
    await page.getByRole("button", { name: /2 members/ }).waitFor();
    await systemLine(page, "You added Carl").waitFor();

    const carl = users.carl.page;
    const room = groupInList(carl, `Crew renamed ${stamp}`);
    await room.waitFor();
    await room.click();
    await systemLine(carl, "Ann added you").waitFor();
    // Members read the whole history, the part from while Carl was out included.
    await bubble(carl, `after Carl ${stamp}`).waitFor();
    await send(carl, `Carl is back ${stamp}`);
    await assertSender(page, `Carl is back ${stamp}`, "Carl");
    await shot(carl, "g07-carl-back");
  });

  test("no page logged an error", () => {
    assert.deepEqual([...users.ann.errors, ...users.bob.errors, ...users.carl.errors], []);
  });
});
