// A few routes need no router library: the path is read from `location` and changed with the
// History API; the server answers every client route with index.html.

import { useSyncExternalStore } from "react";

const CHANGE = "chat:navigate";

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (path === location.pathname) return;
  if (opts.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new Event(CHANGE));
}

function subscribe(cb: () => void): () => void {
  window.addEventListener("popstate", cb);
  window.addEventListener(CHANGE, cb);
  return () => {
    window.removeEventListener("popstate", cb);
    window.removeEventListener(CHANGE, cb);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export type Route =
  | { name: "login" }
  | { name: "signup" }
  | { name: "home" }
  | { name: "room"; roomId: string };

export function parseRoute(path: string): Route {
  if (path === "/login") return { name: "login" };
  if (path === "/signup") return { name: "signup" };
  const m = /^\/chat\/([^/]+)\/?$/.exec(path);
  if (m) return { name: "room", roomId: decodeURIComponent(m[1]) };
  return { name: "home" };
}

export function roomPath(roomId: string): string {
  return "/chat/" + encodeURIComponent(roomId);
}
