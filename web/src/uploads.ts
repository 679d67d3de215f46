// Files on their way into a room: the upload itself (XHR, for its progress events and abort)
// and the list of uploads a composer holds until the message is sent, as pure functions.

import { ApiError } from "./api";
import type { Attachment } from "./types";

/** One file the user picked, dropped or pasted, and where its upload stands. */
export interface Upload {
  /** Local key, stable across updates. */
  key: string;
  name: string;
  size: number;
  /** Bytes sent so far. */
  sent: number;
  status: "uploading" | "done" | "failed";
  /** What the server stored, once done. */
  file?: Attachment;
  error?: string;
}

/** Any object that can carry an upload: the browser's XMLHttpRequest, or a fake in tests. */
export interface UploadRequest {
  open(method: string, url: string): void;
  send(body: FormData): void;
  abort(): void;
  withCredentials: boolean;
  status: number;
  responseText: string;
  upload: { onprogress: ((e: { loaded: number; total: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

export interface UploadHandle {
  /** The stored file, or the reason it was not stored (an `ApiError`; status 0 when aborted). */
  done: Promise<Attachment>;
  cancel(): void;
}

/** Uploads `file` to `roomId` as the multipart part `file`, reporting bytes sent. */
export function uploadFile(
  roomId: string,
  file: Blob,
  name: string,
  onProgress: (sent: number) => void,
  createRequest: () => UploadRequest = () => new XMLHttpRequest() as unknown as UploadRequest,
): UploadHandle {
  const request = createRequest();
  const done = new Promise<Attachment>((resolve, reject) => {
    request.upload.onprogress = (e) => onProgress(e.loaded);
    request.onload = () => {
      let body: { detail?: string; code?: string } & Partial<Attachment> = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = {};
      }
      if (request.status === 201 && typeof body.file_id === "string") {
        resolve(body as Attachment);
      } else {
        const detail =
          request.status === 413
            ? "This file is too large."
            : (body.detail ?? `The server answered ${request.status}.`);
        reject(new ApiError(request.status, body.code ?? `http_${request.status}`, detail));
      }
    };
    request.onerror = () => reject(new ApiError(0, "network", "The upload failed."));
    request.onabort = () => reject(new ApiError(0, "aborted", "Upload cancelled."));
  });
  const form = new FormData();
  form.append("file", file, name);
  request.open("POST", `/api/rooms/${encodeURIComponent(roomId)}/files`);
  request.withCredentials = true;
  request.send(form);
  return { done, cancel: () => request.abort() };
}

export function startUpload(uploads: readonly Upload[], key: string, name: string, size: number): Upload[] {
  return [...uploads, { key, name, size, sent: 0, status: "uploading" }];
}

function update(uploads: readonly Upload[], key: string, change: (u: Upload) => Upload): Upload[] {
  return uploads.map((u) => (u.key === key ? change(u) : u));
}

export function progressUpload(uploads: readonly Upload[], key: string, sent: number): Upload[] {
  return update(uploads, key, (u) => ({ ...u, sent: Math.min(sent, u.size) }));
}

export function finishUpload(uploads: readonly Upload[], key: string, file: Attachment): Upload[] {
  return update(uploads, key, (u) => ({ ...u, sent: u.size, status: "done", file }));
}

export function failUpload(uploads: readonly Upload[], key: string, error: string): Upload[] {
  return update(uploads, key, (u) => ({ ...u, status: "failed", error }));
}

export function removeUpload(uploads: readonly Upload[], key: string): Upload[] {
  return uploads.filter((u) => u.key !== key);
}

/** The stored files, in the order they were added. */
export function readyFiles(uploads: readonly Upload[]): Attachment[] {
  return uploads.flatMap((u) => (u.status === "done" && u.file ? [u.file] : []));
}

/** Whether a message can go: nothing still uploading, and some text or a stored file. */
export function canSend(text: string, uploads: readonly Upload[]): boolean {
  if (uploads.some((u) => u.status === "uploading")) return false;
  return text.trim() !== "" || readyFiles(uploads).length > 0;
}

/** 0 to 100. */
export function percent(upload: Upload): number {
  if (upload.size <= 0) return upload.status === "done" ? 100 : 0;
  return Math.round((100 * upload.sent) / upload.size);
}

/** The raster images browsers show inline, as the server serves them. */
export function isInlineImage(contentType: string): boolean {
  return ["image/png", "image/jpeg", "image/gif", "image/webp"].includes(contentType);
}

/** "512 B", "1.5 KB", "25 MB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

/** The files of a paste or a drop; a pasted screenshot has no name, so it gets one. */
export function filesOf(items: { files: ArrayLike<File> } | null | undefined): File[] {
  if (!items) return [];
  return Array.from(items.files);
}

/** A name for a file that came without one (a pasted image). */
export function nameOf(file: File, now: Date = new Date()): string {
  if (file.name && file.name !== "image.png") return file.name;
  const ext = file.type.startsWith("image/") ? file.type.slice(6) : "bin";
  const stamp = now.toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return `pasted-${stamp}.${ext}`;
}
