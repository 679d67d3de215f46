import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import { navigate } from "../router";
import type { User } from "../types";

interface Props {
  mode: "login" | "signup";
  /** Why the user is here (an expired session, an unreachable server). */
  notice?: string;
  onAuthenticated: (me: User) => void;
}

export function AuthForm({ mode, notice, onAuthenticated }: Props) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const firstField = useRef<HTMLInputElement>(null);
  const signup = mode === "signup";

  useEffect(() => {
    setError(null);
    firstField.current?.focus();
  }, [mode]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (signup) await api.register(email.trim(), password, name.trim());
      else await api.login(email.trim(), password);
      // The cookie is set; /api/me gives the full user (with created_at) in the shape the app uses.
      const me = await api.me({ anonymous: true });
      onAuthenticated(me);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && !signup) {
        setError("Wrong email or password.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  const title = signup ? "Create your account" : "Log in";
  return (
    <main className="auth">
      <form className="auth-card" onSubmit={submit} aria-labelledby="auth-title" noValidate={false}>
        <div className="brand" aria-hidden="true">
          <img src="/favicon.svg" alt="" width={40} height={40} />
        </div>
        <h1 id="auth-title">{title}</h1>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {signup && (
          <label>
            <span>Name</span>
            <input
              ref={firstField}
              name="name"
              autoComplete="name"
              required
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </label>
        )}
        <label>
          <span>Email</span>
          <input
            ref={signup ? undefined : firstField}
            name="email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            required
            minLength={signup ? 8 : undefined}
            aria-describedby={signup ? "password-hint" : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {signup && (
          <p id="password-hint" className="hint">
            At least 8 characters.
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Please wait…" : signup ? "Sign up" : "Log in"}
        </button>
        <p className="switch">
          {signup ? "Already have an account? " : "New here? "}
          <a
            href={signup ? "/login" : "/signup"}
            onClick={(e) => {
              e.preventDefault();
              navigate(signup ? "/login" : "/signup");
            }}
          >
            {signup ? "Log in" : "Create an account"}
          </a>
        </p>
      </form>
    </main>
  );
}
