// End-to-end: sending an image and a document through the web app. Ann attaches a picture
// with the attach button and a text file by pasting it, watches the uploads finish, and sends;
// Bob sees the picture inline, opens it in the lightbox, and sees the file as a chip.

import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { ChatServer, STAMP as stamp, launchBrowser, openUser, shot, signUp } from "./harness.mjs";

const server = new ChatServer();
let browser;
const users = {};

/** A real PNG of `width` × `height` pixels, built by hand (no image library in node). */
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "ascii");
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      rows[at] = (x * 255) / width;
      rows[at + 1] = (y * 255) / height;
      rows[at + 2] = 160;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}



describe("files in the web client", { timeout: 300_000 }, () => {
  before(async () => {
    await server.start();
    browser = await launchBrowser();
    users.ann = await openUser(browser, "Ann", { tag: "-files", timeout: 30_000 });
    users.bob = await openUser(browser, "Bob", { tag: "-files", timeout: 30_000 });
    await signUp(server, users.ann);
    await signUp(server, users.bob);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server.dispose();
  });

  test("Ann sends an image and a pasted file; Bob sees the image inline and the file as a chip", async () => {
    const ann = users.ann.page;
    const bob = users.bob.page;
    await ann.getByRole("tab", { name: "People" }).click();
    await ann.getByLabel("Search people").fill("Bob");
    await ann.getByRole("button", { name: /Chat with Bob/ }).click();
    await ann.waitForURL(/\/chat\/[^/]+$/);

    // The attach button opens the file picker.
    const picking = ann.waitForEvent("filechooser");
    await ann.getByRole("button", { name: "Attach files" }).click();
    const chooser = await picking;
    await chooser.setFiles({ name: "sunset.png", mimeType: "image/png", buffer: png(640, 400) });

    // A file pasted into the message box is attached too.
    await ann.locator("#composer-input").focus();
    await ann.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(["meeting notes\n"], "notes.txt", { type: "text/plain" }));
      const paste = new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
      document.querySelector("#composer-input").dispatchEvent(paste);
    });
    const uploads = ann.locator('[data-testid="upload"]');
    await ann.locator('[data-testid="upload"].done').nth(1).waitFor();
    assert.equal(await uploads.count(), 2);
    await shot(ann, "files-01-attached");

    await ann.locator("#composer-input").fill(`holiday ${stamp}`);
    await ann.getByRole("button", { name: "Send" }).click();
    await ann.locator('[data-testid="message"][data-seq="1"]').waitFor();
    assert.equal(await uploads.count(), 0);

    await bob.getByRole("link", { name: /Ann/ }).click();
    const message = bob.locator('[data-testid="message"]').filter({ hasText: `holiday ${stamp}` });
    await message.waitFor();
    const image = message.locator('[data-testid="attachment-image"]');
    await image.waitFor();
    await bob.waitForFunction(
      () => document.querySelector('[data-testid="attachment-image"]')?.naturalWidth === 320,
    );
    const chip = message.locator('[data-testid="attachment-file"]');
    assert.match(await chip.innerText(), /notes\.txt/);
    assert.match(await chip.innerText(), /14 B/);
    await shot(bob, "files-02-received");

    await image.click();
    const full = bob.locator('[data-testid="lightbox-image"]');
    await full.waitFor();
    await bob.waitForFunction(
      () => document.querySelector('[data-testid="lightbox-image"]')?.naturalWidth === 640,
    );
    await shot(bob, "files-03-lightbox");
    await bob.keyboard.press("Escape");
    await full.waitFor({ state: "detached" });

    assert.deepEqual(users.ann.errors, []);
    assert.deepEqual(users.bob.errors, []);
  });

  test("an upload can be cancelled before it is sent", async () => {
    const ann = users.ann.page;
    await ann.route("**/api/rooms/*/files", () => {
      // Never answered: the upload stays in flight until cancelled.
    });
    const picking = ann.waitForEvent("filechooser");
    await ann.getByRole("button", { name: "Attach files" }).click();
    await (await picking).setFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(4096) });
    const upload = ann.locator('[data-testid="upload"].uploading');
    await upload.waitFor();
    assert.equal(await ann.getByRole("button", { name: "Send" }).isDisabled(), true);
    await ann.getByRole("button", { name: "Remove big.bin" }).click();
    await upload.waitFor({ state: "detached" });
    assert.equal(await ann.locator('[data-testid="upload"]').count(), 0);
    await ann.unroute("**/api/rooms/*/files");
  });
});
