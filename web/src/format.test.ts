import { describe, expect, it } from "vitest";
import { dayKey, formatDay, formatWhen } from "./format";
import { parseRoute } from "./router";

describe("day separators and times", () => {
  const now = new Date(2026, 10, 26, 15, 30);

  it("names today and yesterday, and dates further back", () => {
    expect(formatDay(new Date(2026, 10, 26, 0, 5).toISOString(), now)).toBe("Today");
    expect(formatDay(new Date(2026, 10, 25, 23, 59).toISOString(), now)).toBe("Yesterday");
    const older = formatDay(new Date(2026, 10, 20, 12).toISOString(), now);
    expect(older).not.toMatch(/Today|Yesterday/);
    expect(older).toContain("2026");
  });

  it("groups by the local calendar day", () => {
    const a = new Date(2026, 10, 26, 0, 1).toISOString();
    const b = new Date(2026, 10, 26, 23, 59).toISOString();
    const c = new Date(2026, 10, 27, 0, 0).toISOString();
    expect(dayKey(a)).toBe(dayKey(b));
    expect(dayKey(b)).not.toBe(dayKey(c));
  });

  it("shows a time for today and a date otherwise in the sidebar", () => {
    expect(formatWhen(new Date(2026, 10, 26, 9, 7).toISOString(), now)).toMatch(/\d/);
    expect(formatWhen(new Date(2026, 10, 26, 9, 7).toISOString(), now)).not.toMatch(/Nov/);
    expect(formatWhen("not a date", now)).toBe("");
  });
});

describe("routes", () => {
  it("maps paths to views", () => {
    expect(parseRoute("/login")).toEqual({ name: "login" });
    expect(parseRoute("/signup")).toEqual({ name: "signup" });
    expect(parseRoute("/")).toEqual({ name: "home" });
    expect(parseRoute("/chat/abc%2F1")).toEqual({ name: "room", roomId: "abc/1" });
    expect(parseRoute("/anything/else")).toEqual({ name: "home" });
  });
});
