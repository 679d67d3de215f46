// A group's details beside its conversation: rename, the members with their roles, and what the
// viewer's role allows (add, remove, promote, demote), and leaving.

import { useState, type FormEvent } from "react";
import { api } from "../api";
import type { ChatClient } from "../client";
import { canChangeRole, canManage, canRemove, checkGroupName, sortMembers } from "../groups";
import { navigate } from "../router";
import type { Group, Member } from "../types";
import { Avatar } from "./bits";
import { usePeople } from "./usePeople";

/** Members fetched per request when showing them all (the server's maximum). */
const MEMBER_PAGE = 1000;

interface Props {
  client: ChatClient;
  group: Group;
  meId: string;
}

export function GroupPanel({ client, group, meId }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const manage = canManage(group, meId);
  // Every member, paged in on request when the group has more than the first page shows; a
  // membership change brings a new group object, and with it the first page again.
  const [all, setAll] = useState<{ of: Group; members: Member[] } | null>(null);
  const everyone = all && all.of === group ? all.members : group.members;

  async function loadAll() {
    const members: Member[] = [];
    for (;;) {
      const page = await api.groupMembers(group._id, {
        limit: MEMBER_PAGE,
        after: members[members.length - 1]?.user_id,
      });
      members.push(...page);
      if (page.length < MEMBER_PAGE) break;
    }
    setAll({ of: group, members });
  }

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <aside className="group-panel" aria-label="Group details">
      {manage && <Rename group={group} busy={busy} onRename={(name) => run(() => client.renameGroup(group._id, name))} />}
      <h3>
        {group.member_count} {group.member_count === 1 ? "member" : "members"}
      </h3>
      <ul className="member-list" aria-label="Members">
        {sortMembers(everyone).map((m) => (
          <li key={m.user_id} className="member" data-testid="member">
            <Avatar id={m.user_id} name={m.name} />
            <span className="member-name">
              {m.name}
              {m.user_id === meId && " (you)"}
            </span>
            <span className={`role role-${m.role}`}>{m.role}</span>
            {canChangeRole(group, meId, m.user_id) && (
              <button
                type="button"
                className="ghost small"
                disabled={busy}
                aria-label={m.role === "admin" ? `Make ${m.name} a member` : `Make ${m.name} an admin`}
                onClick={() =>
                  run(() => client.setRole(group._id, m.user_id, m.role === "admin" ? "member" : "admin"))
                }
              >
                {m.role === "admin" ? "Demote" : "Make admin"}
              </button>
            )}
            {canRemove(group, meId, m.user_id) && (
              <button
                type="button"
                className="ghost small"
                disabled={busy}
                aria-label={`Remove ${m.name}`}
                onClick={() => run(() => client.removeMember(group._id, m.user_id))}
              >
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {group.member_count > everyone.length && (
        <p className="muted">
          and {group.member_count - everyone.length} more{" "}
          <button type="button" className="link" disabled={busy} onClick={() => run(loadAll)}>
            Show all members
          </button>
        </p>
      )}
      {manage && (
        <AddPeople
          group={group}
          busy={busy}
          onAdd={(id) => run(() => client.addMembers(group._id, [id]))}
        />
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button
        type="button"
        className="danger"
        disabled={busy}
        onClick={() =>
          run(async () => {
            await client.leaveGroup(group._id);
            navigate("/");
          })
        }
      >
        Leave group
      </button>
    </aside>
  );
}

function Rename({ group, busy, onRename }: { group: Group; busy: boolean; onRename: (name: string) => Promise<void> }) {
  const [name, setName] = useState(group.name);
  const [error, setError] = useState<string | null>(null);

  function submit(e: FormEvent) {
    e.preventDefault();
    const checked = checkGroupName(name);
    if (!checked.ok) {
      setError(checked.error);
      return;
    }
    setError(null);
    void onRename(checked.name);
  }

  return (
    <form className="rename" onSubmit={submit}>
      <label htmlFor="rename-group">Group name</label>
      <div className="row">
        <input id="rename-group" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={busy || name.trim() === group.name}>
          Rename
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function AddPeople({ group, busy, onAdd }: { group: Group; busy: boolean; onAdd: (userId: string) => void }) {
  const [q, setQ] = useState("");
  const people = usePeople(q);
  const inGroup = new Set(group.members.map((m) => m.user_id));
  const candidates = (people.users ?? []).filter((u) => !inGroup.has(u._id));

  return (
    <div className="add-people">
      <label htmlFor="add-people">Add people</label>
      <input
        id="add-people"
        type="search"
        placeholder="Search by name or email"
        autoComplete="off"
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      <ul className="member-list" aria-label="People to add">
        {candidates.slice(0, 8).map((u) => (
          <li key={u._id} className="member">
            <Avatar id={u._id} name={u.name} />
            <span className="member-name">{u.name}</span>
            <button
              type="button"
              className="ghost small"
              disabled={busy}
              aria-label={`Add ${u.name}`}
              onClick={() => onAdd(u._id)}
            >
              Add
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
