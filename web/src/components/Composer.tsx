// The message box: text, and files attached with the button, by drag and drop or by pasting
// an image. Files upload as soon as they are added, with progress and a cancel; the message
// goes once none is still uploading.

import { useEffect, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import {
  canSend,
  failUpload,
  filesOf,
  finishUpload,
  nameOf,
  percent,
  progressUpload,
  readyFiles,
  removeUpload,
  startUpload,
  uploadFile,
  type Upload,
  type UploadHandle,
} from "../uploads";
import type { Attachment } from "../types";
import { FileChip } from "./Attachments";

const MAX_LENGTH = 16_384;

export function Composer({
  roomId,
  onSend,
  onType,
  disabled,
  label,
}: {
  roomId: string;
  onSend: (text: string, files: Attachment[]) => void;
  /** The user changed the text: the room hears "typing" (throttled by the client). */
  onType: () => void;
  disabled: boolean;
  label: string;
}) {
  const [text, setText] = useState("");
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const handles = useRef(new Map<string, UploadHandle>());

  useEffect(() => {
    // On a phone, focusing would pop the keyboard over the conversation the user came to read.
    if (window.matchMedia("(min-width: 721px)").matches) area.current?.focus();
  }, []);

  // Uploads belong to the room they were made in: leaving it cancels what is in flight.
  useEffect(() => {
    const inFlight = handles.current;
    return () => {
      for (const handle of inFlight.values()) handle.cancel();
      inFlight.clear();
      setUploads([]);
    };
  }, [roomId]);

  // Grow with the text up to a few lines, then scroll.
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = Math.min(el.scrollHeight, 160) + "px";
  }, [text]);

  function add(files: File[]) {
    for (const file of files) {
      const key = crypto.randomUUID();
      const name = nameOf(file);
      setUploads((u) => startUpload(u, key, name, file.size));
      const handle = uploadFile(roomId, file, name, (sent) => setUploads((u) => progressUpload(u, key, sent)));
      handles.current.set(key, handle);
      handle.done.then(
        (stored) => setUploads((u) => finishUpload(u, key, stored)),
        (err: Error & { code?: string }) => {
          if (err.code === "aborted") setUploads((u) => removeUpload(u, key));
          else setUploads((u) => failUpload(u, key, err.message));
        },
      ).finally(() => handles.current.delete(key));
    }
  }

  function cancel(key: string) {
    const handle = handles.current.get(key);
    if (handle) handle.cancel();
    else setUploads((u) => removeUpload(u, key));
  }

  const ready = canSend(text, uploads) && !disabled;

  function submit(e?: FormEvent) {
    e?.preventDefault();
    if (!ready) return;
    onSend(text, readyFiles(uploads));
    setText("");
    setUploads([]);
    area.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter breaks the line; an IME composition keeps its own Enter.
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  }

  function onPaste(e: ClipboardEvent<HTMLTextAreaElement>) {
    const files = filesOf(e.clipboardData);
    if (files.length === 0) return;
    e.preventDefault();
    add(files);
  }

  function onDrop(e: DragEvent<HTMLFormElement>) {
    e.preventDefault();
    setDragging(false);
    add(filesOf(e.dataTransfer));
  }

  return (
    <form
      className={dragging ? "composer dragging" : "composer"}
      onSubmit={submit}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files")) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Attached files">
          {uploads.map((u) => (
            <li key={u.key} className={`upload ${u.status}`} data-testid="upload">
              <FileChip name={u.name} size={u.size} />
              {u.status === "uploading" && (
                <progress max={100} value={percent(u)} aria-label={`Uploading ${u.name}`} />
              )}
              {u.status === "failed" && <span role="alert">{u.error}</span>}
              <button type="button" className="link" aria-label={`Remove ${u.name}`} onClick={() => cancel(u.key)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-row">
        <button
          type="button"
          className="attach"
          aria-label="Attach files"
          title="Attach files"
          disabled={disabled}
          onClick={() => picker.current?.click()}
        >
          <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
            <path d="M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" />
          </svg>
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          data-testid="file-input"
          onChange={(e) => {
            add(Array.from(e.target.files ?? []));
            e.target.value = "";
          }}
        />
        <label htmlFor="composer-input" className="sr-only">
          {label}
        </label>
        <textarea
          ref={area}
          id="composer-input"
          rows={1}
          placeholder="Write a message"
          aria-describedby="composer-hint"
          maxLength={MAX_LENGTH}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            if (e.target.value.trim()) onType();
          }}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        <span id="composer-hint" className="sr-only">
          Enter sends, Shift+Enter starts a new line. Paste or drop files to attach them.
        </span>
        <button type="submit" className="primary send" disabled={!ready}>
          Send
        </button>
      </div>
    </form>
  );
}
