// Group rooms as pure functions: who may do what (the server's rules, mirrored so the view only
// offers what will be allowed), membership entries in words, and which messages show their
// sender's name. The server stays the judge: a refused call still shows its error.

import type { Group, Member, Message, Role, Room, RoomEvent } from "./types";

export function isGroup(room: Pick<Room, "kind"> | undefined): boolean {
  return room?.kind === "group";
}

export function memberOf(group: Group | undefined, userId: string): Member | undefined {
  return group?.members.find((m) => m.user_id === userId);
}

function roleOf(group: Group | undefined, userId: string): Role | undefined {
  return memberOf(group, userId)?.role;
}

/** Owners and admins add members and rename the group. */
export function canManage(group: Group | undefined, meId: string): boolean {
  const role = roleOf(group, meId);
  return role === "owner" || role === "admin";
}

/** Owners and admins remove others, never an owner; removing yourself is leaving. */
export function canRemove(group: Group | undefined, meId: string, targetId: string): boolean {
  if (targetId === meId) return false;
  return canManage(group, meId) && roleOf(group, targetId) !== "owner";
}

/** Only owners promote and demote, and an owner's own role is not changed this way. */
export function canChangeRole(group: Group | undefined, meId: string, targetId: string): boolean {
  return targetId !== meId && roleOf(group, meId) === "owner" && roleOf(group, targetId) !== "owner";
}

const ROLE_ORDER: Record<Role, number> = { owner: 0, admin: 1, member: 2 };

/** Members for the header: owners, then admins, then members, each by name. */
export function sortMembers(members: readonly Member[]): Member[] {
  return [...members].sort(
    (a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.name.localeCompare(b.name),
  );
}

/** The user ids a membership entry is about, whose names the entry needs. */
function subject(event: RoomEvent): string | undefined {
  return "user_id" in event ? event.user_id : undefined;
}

/**
 * A membership entry in words: "Ann added Bob", "You removed Carl", "Bob left". Names come from
 * `names` (user id → name, e.g. the group's members); someone no longer listed falls back to the
 * server's own wording, which never names the subject.
 */
export function describeEntry(m: Message, names: ReadonlyMap<string, string>, meId: string): string {
  const event = m.event;
  if (!event) return m.message;
  const actor = m.sender_id === meId ? "You" : m.sender_name;
  const who = subject(event);
  const whoName = who === undefined ? undefined : who === meId ? "you" : names.get(who);
  switch (event.kind) {
    case "created":
      return `${actor} created the group ${event.name}`;
    case "renamed":
      return `${actor} renamed the group to ${event.name}`;
    case "left":
      return `${who === meId ? "You" : (names.get(event.user_id) ?? m.sender_name)} left`;
    case "added":
      return whoName ? `${actor} added ${whoName}` : m.message;
    case "removed":
      return whoName ? `${actor} removed ${whoName}` : m.message;
    case "role_changed":
      if (!whoName) return m.message;
      if (event.role === "owner" && who === m.sender_id) return `${capital(whoName)} became the owner`;
      return `${actor} made ${whoName} ${event.role === "member" ? "a member" : `an ${event.role}`}`;
  }
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Whether this entry takes `meId` out of the room: after it, nothing more of the room arrives. */
export function endsMembership(m: Message, meId: string): boolean {
  const e = m.event;
  return !!e && (e.kind === "removed" || e.kind === "left") && e.user_id === meId;
}

/**
 * Whether a message row shows its sender's name: in groups, for others' messages that do not
 * follow another message of the same sender (membership entries break a run).
 */
export function showsSender(
  group: boolean,
  m: Message,
  previous: Message | undefined,
  meId: string,
): boolean {
  if (!group || m.event || m.sender_id === meId) return false;
  return !previous || !!previous.event || previous.sender_id !== m.sender_id;
}

/** A name to create or rename a group with: trimmed, 1–100 characters, else why not. */
export function checkGroupName(name: string): { ok: true; name: string } | { ok: false; error: string } {
  const trimmed = name.trim();
  if (!trimmed) return { ok: false, error: "Give the group a name." };
  if ([...trimmed].length > 100) return { ok: false, error: "A group name has at most 100 characters." };
  return { ok: true, name: trimmed };
}
