// The people search shared by the People tab, the new-group form and "add people": the users
// matching a query, fetched 200 ms after the last keystroke.

import { useEffect, useState } from "react";
import { api } from "../api";
import type { User } from "../types";

export function usePeople(q: string): { users: User[] | null; error: string | null } {
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(() => {
      api
        .users(q.trim(), 50)
        .then((list) => {
          if (cancelled) return;
          setUsers(list);
          setError(null);
        })
        .catch((err: unknown) => {
          if (!cancelled) setError(err instanceof Error ? err.message : String(err));
        });
    }, 200);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [q]);

  return { users, error };
}
