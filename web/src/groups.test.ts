import { describe, expect, it } from "vitest";
import {
  canChangeRole,
  canManage,
  canRemove,
  checkGroupName,
  describeEntry,
  endsMembership,
  showsSender,
  sortMembers,
} from "./groups";
import { msg } from "./testing/fakes";
import type { Group, Member, Message, RoomEvent } from "./types";

function group(members: Member[]): Group {
  return {
    _id: "r1",
    kind: "group",
    name: "Crew",
    created_at: "2026-01-01T00:00:00Z",
    created_by: "ann",
    member_count: members.length,
    members,
  };
}

const crew = group([
  { user_id: "ann", name: "Ann", role: "owner" },
  { user_id: "bob", name: "Bob", role: "admin" },
  { user_id: "carl", name: "Carl", role: "member" },
  { user_id: "dan", name: "Dan", role: "member" },
]);

const names = new Map([
  ["ann", "Ann"],
  ["bob", "Bob"],
  ["carl", "Carl"],
]);

/** A membership entry sent by `sender` (an id in `names`). */
function entry(sender: string, event: RoomEvent, message = "server words"): Message {
  return msg(5, { sender_id: sender, sender_name: names.get(sender) ?? sender, event, message });
}

describe("roles", () => {
  it("lets owners and admins manage, members not, strangers not", () => {
    expect(canManage(crew, "ann")).toBe(true);
    expect(canManage(crew, "bob")).toBe(true);
    expect(canManage(crew, "carl")).toBe(false);
    expect(canManage(crew, "zoe")).toBe(false);
    expect(canManage(undefined, "ann")).toBe(false);
  });

  it("never offers to remove an owner or yourself; members remove nobody", () => {
    expect(canRemove(crew, "ann", "bob")).toBe(true);
    expect(canRemove(crew, "bob", "carl")).toBe(true);
    expect(canRemove(crew, "bob", "ann")).toBe(false);
    expect(canRemove(crew, "ann", "ann")).toBe(false);
    expect(canRemove(crew, "carl", "dan")).toBe(false);
  });

  it("lets only owners change roles, of non-owners", () => {
    expect(canChangeRole(crew, "ann", "bob")).toBe(true);
    expect(canChangeRole(crew, "ann", "carl")).toBe(true);
    expect(canChangeRole(crew, "bob", "carl")).toBe(false);
    expect(canChangeRole(crew, "ann", "ann")).toBe(false);
  });

  it("sorts owners, then admins, then members, each by name", () => {
    const sorted = sortMembers([
      { user_id: "d", name: "Dan", role: "member" },
      { user_id: "b", name: "Bea", role: "admin" },
      { user_id: "c", name: "Cid", role: "member" },
      { user_id: "a", name: "Zed", role: "owner" },
    ]);
    expect(sorted.map((m) => m.name)).toEqual(["Zed", "Bea", "Cid", "Dan"]);
  });
});

describe("describeEntry", () => {
  it("names actor and subject, with 'you' for the reader", () => {
    expect(describeEntry(entry("ann", { kind: "added", user_id: "bob", role: "member" }), names, "carl")).toBe(
      "Ann added Bob",
    );
    expect(describeEntry(entry("ann", { kind: "added", user_id: "carl", role: "member" }), names, "carl")).toBe(
      "Ann added you",
    );
    expect(describeEntry(entry("ann", { kind: "removed", user_id: "carl" }), names, "ann")).toBe("You removed Carl");
    expect(describeEntry(entry("bob", { kind: "left", user_id: "bob" }), names, "ann")).toBe("Bob left");
    expect(describeEntry(entry("bob", { kind: "left", user_id: "bob" }), names, "bob")).toBe("You left");
  });

  it("says renames, creation and role changes", () => {
    expect(describeEntry(entry("ann", { kind: "created", name: "Crew" }), names, "bob")).toBe(
      "Ann created the group Crew",
    );
    expect(describeEntry(entry("bob", { kind: "renamed", name: "Gang" }), names, "ann")).toBe(
      "Bob renamed the group to Gang",
    );
    expect(describeEntry(entry("ann", { kind: "role_changed", user_id: "bob", role: "admin" }), names, "carl")).toBe(
      "Ann made Bob an admin",
    );
    expect(describeEntry(entry("ann", { kind: "role_changed", user_id: "bob", role: "member" }), names, "bob")).toBe(
      "Ann made you a member",
    );
    // The hand-over when the last owner left: the new owner is its own sender.
    expect(describeEntry(entry("bob", { kind: "role_changed", user_id: "bob", role: "owner" }), names, "carl")).toBe(
      "Bob became the owner",
    );
  });

  it("falls back to the server's words when the subject's name is unknown", () => {
    const m = entry("ann", { kind: "removed", user_id: "zoe" }, "Ann removed a member");
    expect(describeEntry(m, names, "bob")).toBe("Ann removed a member");
  });

  it("leaves plain messages as they are", () => {
    expect(describeEntry(msg(1, { message: "hi" }), names, "ann")).toBe("hi");
  });
});

describe("endsMembership", () => {
  it("is true only for the reader's own removal or leave", () => {
    expect(endsMembership(entry("ann", { kind: "removed", user_id: "carl" }), "carl")).toBe(true);
    expect(endsMembership(entry("carl", { kind: "left", user_id: "carl" }), "carl")).toBe(true);
    expect(endsMembership(entry("ann", { kind: "removed", user_id: "carl" }), "bob")).toBe(false);
    expect(endsMembership(entry("ann", { kind: "added", user_id: "carl", role: "member" }), "carl")).toBe(false);
    expect(endsMembership(msg(1), "u1")).toBe(false);
  });
});

describe("showsSender", () => {
  const a1 = msg(1, { sender_id: "bob", sender_name: "Bob" });
  const a2 = msg(2, { sender_id: "bob", sender_name: "Bob" });
  const c3 = msg(3, { sender_id: "carl", sender_name: "Carl" });
  const sys = entry("ann", { kind: "renamed", name: "Gang" });

  it("shows the name on the first of a run of others' group messages", () => {
    expect(showsSender(true, a1, undefined, "ann")).toBe(true);
    expect(showsSender(true, a2, a1, "ann")).toBe(false);
    expect(showsSender(true, c3, a2, "ann")).toBe(true);
    expect(showsSender(true, a2, sys, "ann")).toBe(true);
  });

  it("never in direct rooms, on own messages or on membership entries", () => {
    expect(showsSender(false, a1, undefined, "ann")).toBe(false);
    expect(showsSender(true, a1, undefined, "bob")).toBe(false);
    expect(showsSender(true, sys, undefined, "bob")).toBe(false);
  });
});

describe("checkGroupName", () => {
  it("trims and bounds the name", () => {
    expect(checkGroupName("  Crew ")).toEqual({ ok: true, name: "Crew" });
    expect(checkGroupName("   ").ok).toBe(false);
    expect(checkGroupName("x".repeat(100)).ok).toBe(true);
    expect(checkGroupName("x".repeat(101)).ok).toBe(false);
  });
});
