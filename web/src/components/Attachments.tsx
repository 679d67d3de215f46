// A message's files: images inline (their thumbnail) opening a lightbox with the full image,
// other files as chips with their name and size that download.

import { useEffect, useRef, useState } from "react";
import { formatBytes, isInlineImage } from "../uploads";
import type { Attachment } from "../types";

const fileUrl = (file: Attachment) => `/api/files/${encodeURIComponent(file.file_id)}`;

export function Attachments({ files }: { files: readonly Attachment[] }) {
  const [open, setOpen] = useState<Attachment | null>(null);
  if (files.length === 0) return null;
  const images = files.filter((f) => isInlineImage(f.content_type));
  const others = files.filter((f) => !isInlineImage(f.content_type));
  return (
    <div className="attachments">
      {images.map((image) => (
        <button
          key={image.file_id}
          type="button"
          className="attachment-image"
          aria-label={`Open image ${image.name}`}
          onClick={() => setOpen(image)}
        >
          <img
            src={`${fileUrl(image)}/thumb`}
            alt={image.name}
            width={thumbSize(image).width}
            height={thumbSize(image).height}
            loading="lazy"
            data-testid="attachment-image"
          />
        </button>
      ))}
      {others.map((file) => (
        <FileChip key={file.file_id} name={file.name} size={file.size} href={fileUrl(file)} />
      ))}
      {open && <Lightbox image={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

/** A file as a chip: its name and size, downloading when it has a link. */
export function FileChip({ name, size, href }: { name: string; size: number; href?: string }) {
  const body = (
    <>
      <span className="chip-name">{name}</span>
      <span className="chip-size">{formatBytes(size)}</span>
    </>
  );
  return href ? (
    <a className="file-chip" href={href} download={name} data-testid="attachment-file">
      {body}
    </a>
  ) : (
    <span className="file-chip">{body}</span>
  );
}

/** The thumbnail's box: at most 320 px a side, the image's aspect kept. */
function thumbSize(image: Attachment): { width?: number; height?: number } {
  if (!image.width || !image.height) return {};
  const scale = Math.min(1, 320 / Math.max(image.width, image.height));
  return { width: Math.round(image.width * scale), height: Math.round(image.height * scale) };
}

function Lightbox({ image, onClose }: { image: Attachment; onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    close.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div
      className="lightbox"
      role="dialog"
      aria-modal="true"
      aria-label={image.name}
      onClick={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <img src={fileUrl(image)} alt={image.name} data-testid="lightbox-image" />
      <div className="lightbox-bar">
        <span>{image.name}</span>
        <a href={fileUrl(image)} download={image.name}>
          Download
        </a>
        <button ref={close} type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
