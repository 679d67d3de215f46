// Small pieces shared by the sidebar and the chat view.

function hue(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % 360;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?")[0];
  return letters.toUpperCase();
}

export function Avatar({ id, name, online }: { id: string; name: string; online?: boolean }) {
  return (
    <span className="avatar" style={{ backgroundColor: `hsl(${hue(id)} 55% 45%)` }} aria-hidden="true">
      {initials(name)}
      {online !== undefined && <span className={online ? "dot dot-on" : "dot dot-off"} />}
    </span>
  );
}

/** Presence in words for assistive technology; nothing when the server has no presence data. */
export function PresenceText({ online }: { online?: boolean }) {
  if (online === undefined) return null;
  return <span className="sr-only">{online ? ", online" : ", offline"}</span>;
}
