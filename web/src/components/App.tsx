import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError, setUnauthorizedHandler } from "../api";
import { navigate, parseRoute, usePath } from "../router";
import type { User } from "../types";
import { AuthForm } from "./AuthForm";
import { ChatApp } from "./ChatApp";

type Auth =
  | { status: "checking" }
  | { status: "anon"; notice?: string }
  | { status: "authed"; me: User };

const EXPIRED = "Your session has expired. Please log in again.";
// Only a flag that this browser had a signed-in user: it tells whether to ask the server about
// the session at start, and lets a 401 then say "expired" rather than nothing. The session
// itself is the HttpOnly cookie, which scripts cannot read.
const SIGNED_IN_FLAG = "chat.signedIn";

function setSignedIn(on: boolean): void {
  try {
    if (on) localStorage.setItem(SIGNED_IN_FLAG, "1");
    else localStorage.removeItem(SIGNED_IN_FLAG);
  } catch {
    // storage may be disabled; the flag only chooses a message
  }
}

function wasSignedIn(): boolean {
  try {
    return localStorage.getItem(SIGNED_IN_FLAG) === "1";
  } catch {
    return false;
  }
}

export function App() {
  const [auth, setAuth] = useState<Auth>({ status: "checking" });
  const route = parseRoute(usePath());
  // Where an anonymous visitor was going, to return there after logging in.
  const returnTo = useRef<string | null>(null);

  const checkSession = useCallback(() => {
    // Nobody signed in from this browser: skip the request, whose 401 the browser would log.
    if (!wasSignedIn()) {
      setAuth({ status: "anon" });
      return;
    }
    setAuth({ status: "checking" });
    api
      .me({ anonymous: true })
      .then((me) => {
        setSignedIn(true);
        setAuth({ status: "authed", me });
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) {
          setSignedIn(false);
          setAuth({ status: "anon", notice: EXPIRED });
        } else {
          setAuth({
            status: "anon",
            notice: err instanceof Error ? err.message : "Cannot reach the server.",
          });
        }
      });
  }, []);

  useEffect(checkSession, [checkSession]);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setSignedIn(false);
      setAuth({ status: "anon", notice: EXPIRED });
    });
    return () => setUnauthorizedHandler(null);
  }, []);

  useEffect(() => {
    if (auth.status === "anon" && route.name !== "login" && route.name !== "signup") {
      if (route.name === "room") returnTo.current = location.pathname;
      navigate("/login", { replace: true });
    } else if (auth.status === "authed" && (route.name === "login" || route.name === "signup")) {
      navigate(returnTo.current ?? "/", { replace: true });
      returnTo.current = null;
    }
  }, [auth.status, route.name]);

  const onAuthenticated = useCallback((me: User) => {
    setSignedIn(true);
    setAuth({ status: "authed", me });
  }, []);

  const onLogout = useCallback(async () => {
    try {
      await api.logout();
    } catch {
      // the cookie may already be gone; the user still leaves
    }
    setSignedIn(false);
    setAuth({ status: "anon" });
    navigate("/login");
  }, []);

  if (auth.status === "checking") {
    return (
      <div className="splash" role="status">
        Loading…
      </div>
    );
  }
  if (auth.status === "anon") {
    return (
      <AuthForm
        mode={route.name === "signup" ? "signup" : "login"}
        notice={auth.notice}
        onAuthenticated={onAuthenticated}
      />
    );
  }
  return (
    <ChatApp
      me={auth.me}
      roomId={route.name === "room" ? route.roomId : null}
      onLogout={onLogout}
    />
  );
}
