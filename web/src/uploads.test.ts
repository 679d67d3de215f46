import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import {
  canSend,
  failUpload,
  finishUpload,
  formatBytes,
  isInlineImage,
  nameOf,
  percent,
  progressUpload,
  readyFiles,
  removeUpload,
  startUpload,
  uploadFile,
  type UploadRequest,
} from "./uploads";
import type { Attachment } from "./types";

const file = (id: string): Attachment => ({
  file_id: id,
  name: `${id}.png`,
  size: 10,
  content_type: "image/png",
});

class FakeRequest implements UploadRequest {
  withCredentials = false;
  status = 0;
  responseText = "";
  upload: UploadRequest["upload"] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  opened: [string, string] | null = null;
  body: FormData | null = null;
  open(method: string, url: string) {
    this.opened = [method, url];
  }
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
  answer(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

describe("uploadFile", () => {
  it("posts the file as the part `file` and reports progress", async () => {
    const request = new FakeRequest();
    const seen: number[] = [];
    const handle = uploadFile("room 1", new Blob(["hello"]), "a.txt", (n) => seen.push(n), () => request);
    expect(request.opened).toEqual(["POST", "/api/rooms/room%201/files"]);
    expect(request.withCredentials).toBe(true);
    expect((request.body?.get("file") as File).name).toBe("a.txt");
    request.upload.onprogress?.({ loaded: 3, total: 5 });
    request.answer(201, file("f1"));
    await expect(handle.done).resolves.toEqual(file("f1"));
    expect(seen).toEqual([3]);
  });

  it("turns refusals and cancels into errors", async () => {
    const big = new FakeRequest();
    const tooLarge = uploadFile("r", new Blob(["x"]), "x", () => {}, () => big);
    big.answer(413, { detail: "files may be at most 10 bytes", code: "too_large" });
    await expect(tooLarge.done).rejects.toMatchObject({ status: 413, message: "This file is too large." });

    const cancelled = new FakeRequest();
    const handle = uploadFile("r", new Blob(["x"]), "x", () => {}, () => cancelled);
    handle.cancel();
    const error = await handle.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("aborted");
  });
});

describe("the upload list", () => {
  it("tracks progress, then holds the stored file until sent", () => {
    let uploads = startUpload([], "k1", "a.png", 200);
    uploads = startUpload(uploads, "k2", "b.txt", 0);
    expect(canSend("", uploads)).toBe(false);
    uploads = progressUpload(uploads, "k1", 50);
    expect(percent(uploads[0])).toBe(25);
    uploads = progressUpload(uploads, "k1", 500);
    expect(uploads[0].sent).toBe(200);
    uploads = finishUpload(uploads, "k1", file("f1"));
    uploads = failUpload(uploads, "k2", "too large");
    expect(canSend("", uploads)).toBe(true);
    expect(readyFiles(uploads)).toEqual([file("f1")]);
    uploads = removeUpload(uploads, "k1");
    expect(canSend("", uploads)).toBe(false);
    expect(canSend("text", uploads)).toBe(true);
  });
});

describe("formatting", () => {
  it("says sizes in the units people read", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(25 * 1024 * 1024)).toBe("25 MB");
  });

  it("knows which types show inline and names pasted images", () => {
    expect(isInlineImage("image/png")).toBe(true);
    expect(isInlineImage("image/svg+xml")).toBe(false);
    expect(isInlineImage("text/plain; charset=utf-8")).toBe(false);
    const pasted = new File(["x"], "image.png", { type: "image/png" });
    expect(nameOf(pasted, new Date("2026-01-02T03:04:05Z"))).toBe("pasted-2026-01-02-03-04-05.png");
    expect(nameOf(new File(["x"], "cat.jpg"))).toBe("cat.jpg");
  });
});
