// The form that creates a group: a name and the people to put in it (the creator is its owner).

import { useState, type FormEvent } from "react";
import type { ChatClient } from "../client";
import { checkGroupName } from "../groups";
import { Avatar } from "./bits";
import { usePeople } from "./usePeople";

interface Props {
  client: ChatClient;
  onCreated: (roomId: string) => void;
  onCancel: () => void;
}

export function NewGroup({ client, onCreated, onCancel }: Props) {
  const [name, setName] = useState("");
  const [q, setQ] = useState("");
  const [picked, setPicked] = useState<Map<string, string>>(new Map());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const people = usePeople(q);

  function toggle(id: string, userName: string) {
    const next = new Map(picked);
    if (next.has(id)) next.delete(id);
    else next.set(id, userName);
    setPicked(next);
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const checked = checkGroupName(name);
    if (!checked.ok) {
      setError(checked.error);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const group = await client.createGroup(checked.name, [...picked.keys()]);
      onCreated(group._id);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="new-group pad" onSubmit={submit} aria-label="New group">
      <h3>New group</h3>
      <label htmlFor="group-name">Group name</label>
      <input
        id="group-name"
        autoFocus
        maxLength={100}
        value={name}
        onChange={(e) => setName(e.target.value)}
        autoComplete="off"
      />
      <label htmlFor="group-people">Add people</label>
      <input
        id="group-people"
        type="search"
        placeholder="Search by name or email"
        autoComplete="off"
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      {picked.size > 0 && (
        <p className="muted">
          {picked.size} picked: {[...picked.values()].join(", ")}
        </p>
      )}
      {people.error && (
        <p className="error" role="alert">
          {people.error}
        </p>
      )}
      <ul className="pick-list" aria-label="People to add">
        {(people.users ?? []).map((u) => (
          <li key={u._id}>
            <label className="pick">
              <input type="checkbox" checked={picked.has(u._id)} onChange={() => toggle(u._id, u.name)} />
              <Avatar id={u._id} name={u.name} />
              <span>{u.name}</span>
            </label>
          </li>
        ))}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          Create group
        </button>
        <button type="button" className="ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
