import { describe, expect, it } from "vitest";
import { addPage, firstPage, roomLabel, searchable } from "./search";
import type { Room, SearchHit } from "./types";

function hit(id: string, seq: number): SearchHit {
  return {
    _id: id,
    room_id: "r1",
    sender_id: "u1",
    sender_name: "Ann",
    message: `note ${seq}`,
    timestamp: "2026-01-01T00:00:00.000Z",
    seq,
    snippet: [
      { text: "note ", hit: true },
      { text: String(seq), hit: false },
    ],
  };
}

describe("search", () => {
  it("sends only queries with a letter or digit", () => {
    expect(searchable("  ")).toBe(false);
    expect(searchable("?!*")).toBe(false);
    expect(searchable("café")).toBe(true);
    expect(searchable("42")).toBe(true);
  });

  it("adds pages without repeating hits and keeps the next cursor", () => {
    const first = firstPage("note", { kind: "all" }, { hits: [hit("a", 3), hit("b", 2)], next_before: "b" });
    expect(first.next).toBe("b");
    const more = addPage(first, { hits: [hit("b", 2), hit("c", 1)] });
    expect(more.hits.map((h) => h._id)).toEqual(["a", "b", "c"]);
    expect(more.next).toBeUndefined();
    expect(more.query).toBe("note");
  });

  it("labels a hit with its room's name", () => {
    const rooms = [{ _id: "r1", receiver_name: "Bob" } as Room];
    expect(roomLabel(rooms, "r1")).toBe("Bob");
    expect(roomLabel(rooms, "gone")).toBe("A conversation");
  });
});
