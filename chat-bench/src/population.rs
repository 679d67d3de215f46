//! The bench's users and rooms: prepared fast in the server's store (or, for small counts
//! against a remote server, through the public API), and kept in a file in the data dir so
//! later runs reuse them.
//!
//! Users are `user{i}@{domain}` named `User {i}`, as `chat user import --count` names them,
//! so a population imported by an operator is found rather than duplicated. With rooms of
//! `K` members, room `k` holds users `K·k` to `K·k + K - 1`: for `K = 2` it is their direct
//! room, for larger `K` a group owned by its first member. Users beyond the last full room
//! are in no room.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chat_cli::StoreArgs;
use std::collections::BTreeMap;

use chat_core::error::Error as CoreError;
use chat_core::membership::NewGroup;
use chat_core::model::{NewUser, now};
use chat_core::store::Store;
use chat_core::{RoomId, UserId};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

/// Password of the bench's users: they are load-test accounts, not secrets.
pub const PASSWORD: &str = "bench-password";
/// Users created per store call.
const USER_BATCH: usize = 1000;
/// Store calls in flight while opening rooms, so the writer commits them in groups.
const ROOMS_IN_FLIGHT: usize = 256;
/// API calls in flight when preparing through the API.
const API_IN_FLIGHT: usize = 8;

/// A room of the population.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Room {
    /// Its id.
    pub id: RoomId,
    /// Indexes of its members in [`Population::users`], the group's owner first.
    pub members: Vec<usize>,
}

/// Users and rooms ready for a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Population {
    /// Email domain of the users.
    pub domain: String,
    /// User ids; user `i` is `user{i}@{domain}`.
    pub users: Vec<UserId>,
    /// Direct rooms; room `k` pairs users `2k` and `2k + 1`.
    pub rooms: Vec<Room>,
    /// Group rooms by member count (above 2); room `k` of size `K` holds users `K·k` to
    /// `K·k + K - 1`. Kept per size so runs with different sizes share the users.
    #[serde(default)]
    pub groups: BTreeMap<usize, Vec<Room>>,
}

impl Population {
    /// The rooms of `size` members.
    pub fn rooms_of(&self, size: usize) -> &[Room] {
        if size == 2 {
            &self.rooms
        } else {
            self.groups.get(&size).map_or(&[], Vec::as_slice)
        }
    }

    fn rooms_of_mut(&mut self, size: usize) -> &mut Vec<Room> {
        if size == 2 {
            &mut self.rooms
        } else {
            self.groups.entry(size).or_default()
        }
    }

    /// The first `users` users and the rooms of `size` members among them, as direct rooms
    /// or as groups.
    fn truncated(mut self, users: usize, size: usize) -> Self {
        self.users.truncate(users);
        let mut rooms = std::mem::take(self.rooms_of_mut(size));
        rooms.truncate(users / size);
        self.groups.clear();
        if size == 2 {
            self.rooms = rooms;
        } else {
            self.rooms.clear();
            self.groups.insert(size, rooms);
        }
        self
    }
}

/// How the population was obtained, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Setup {
    /// Users created by this run.
    pub users_created: usize,
    /// Rooms opened by this run.
    pub rooms_opened: usize,
    /// Seconds spent.
    pub seconds: f64,
    /// Where the population is kept, if anywhere.
    pub file: Option<PathBuf>,
}

/// The population of `users` users in rooms of `size` members in the store of `store`,
/// created where missing.
pub async fn prepare_in_store(
    store: &StoreArgs,
    domain: &str,
    users: usize,
    size: usize,
) -> anyhow::Result<(Population, Setup)> {
    let started = std::time::Instant::now();
    let file = store
        .data_dir
        .join(format!("bench-population-{domain}.json"));
    let db = chat_cli::open_store(store).await?;
    let mut population = match read_file(&file) {
        Some(kept) if kept.domain == domain && still_stored(db.as_ref(), &kept).await? => kept,
        _ => Population {
            domain: domain.to_owned(),
            ..Population::default()
        },
    };
    let users_created = add_users(db.as_ref(), &mut population, users).await?;
    let rooms_opened = add_rooms(db.as_ref(), &mut population, users, size).await?;
    if users_created + rooms_opened > 0 {
        write_file(&file, &population)?;
    }
    db.flush().await?;
    drop(db);
    let setup = Setup {
        users_created,
        rooms_opened,
        seconds: started.elapsed().as_secs_f64(),
        file: Some(file),
    };
    Ok((population.truncated(users, size), setup))
}

fn read_file(path: &Path) -> Option<Population> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_file(path: &Path, population: &Population) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec(population)?)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Whether the store still holds the kept population (its last user and last room of each
/// size).
async fn still_stored(db: &dyn Store, kept: &Population) -> anyhow::Result<bool> {
    if let Some(last) = kept.users.last()
        && db.user(*last).await?.is_none()
    {
        return Ok(false);
    }
    let lasts = std::iter::once(&kept.rooms)
        .chain(kept.groups.values())
        .filter_map(|rooms| rooms.last());
    for last in lasts {
        if db.room(last.id).await?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

fn email(index: usize, domain: &str) -> String {
    format!("user{index}@{domain}")
}

async fn add_users(
    db: &dyn Store,
    population: &mut Population,
    users: usize,
) -> anyhow::Result<usize> {
    if population.users.len() >= users {
        return Ok(0);
    }
    let hash = chat_core::engine::hash_password_blocking(PASSWORD.to_owned()).await?;
    let mut created = 0;
    while population.users.len() < users {
        let first = population.users.len();
        let last = (first + USER_BATCH).min(users);
        let batch: Vec<NewUser> = (first..last)
            .map(|index| NewUser {
                id: UserId::generate(),
                email: email(index, &population.domain),
                name: format!("User {index}"),
                password_hash: hash.clone(),
                created_at: now(),
            })
            .collect();
        match db.create_users(batch.clone()).await {
            Ok(stored) => {
                created += stored.len();
                population.users.extend(stored.iter().map(|user| user.id));
            }
            // Some of them exist (imported by an operator, or a lost population file): find
            // those, create the others one by one.
            Err(CoreError::Conflict(_)) => {
                for user in batch {
                    let id = match db.credentials(&user.email).await? {
                        Some(existing) => existing.user.id,
                        None => {
                            created += 1;
                            db.create_user(user).await?.id
                        }
                    };
                    population.users.push(id);
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(created)
}

/// The members of room `room` of `size` members.
fn members(room: usize, size: usize) -> Vec<usize> {
    (size * room..size * room + size).collect()
}

async fn add_rooms(
    db: &dyn Store,
    population: &mut Population,
    users: usize,
    size: usize,
) -> anyhow::Result<usize> {
    let have = population.rooms_of(size).len();
    let want = users / size;
    if have >= want {
        return Ok(0);
    }
    let ids = &population.users;
    let rooms: Vec<Room> = futures_util::stream::iter(have..want)
        .map(|room| async move {
            let members = members(room, size);
            let id = if size == 2 {
                db.direct_room(ids[members[0]], ids[members[1]], now())
                    .await?
                    .id
            } else {
                let group = NewGroup {
                    id: RoomId::generate(),
                    name: format!("Bench room {room}"),
                    creator: ids[members[0]],
                    creator_name: format!("User {}", members[0]),
                    members: members[1..].iter().map(|&member| ids[member]).collect(),
                    created_at: now(),
                    max_members: size,
                };
                db.create_group(group).await?.0.id
            };
            Ok::<_, CoreError>(Room { id, members })
        })
        .buffered(ROOMS_IN_FLIGHT)
        .try_collect()
        .await?;
    population.rooms_of_mut(size).extend(rooms);
    Ok(want - have)
}

/// The answer of login and register.
#[derive(Deserialize)]
struct SessionIn {
    token: String,
    user: SessionUserIn,
}

#[derive(Deserialize)]
struct SessionUserIn {
    id: UserId,
}

#[derive(Deserialize)]
struct RoomIn {
    #[serde(rename = "_id")]
    id: RoomId,
}

/// The population made through the public API (login, else register; then open direct rooms
/// or create groups of `size` members), with a token per user. Password hashing makes this
/// slow: for small counts and remote servers.
pub async fn prepare_via_api(
    base: &str,
    domain: &str,
    users: usize,
    size: usize,
) -> anyhow::Result<(Population, Vec<String>, Setup)> {
    let started = std::time::Instant::now();
    let client = reqwest::Client::new();
    let base = base.trim_end_matches('/');
    let client = &client;
    let sessions: Vec<(SessionIn, bool)> = futures_util::stream::iter(0..users)
        .map(|index| async move {
            let email = email(index, domain);
            let login = client
                .post(format!("{base}/api/login"))
                .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
                .send()
                .await?;
            if login.status().is_success() {
                return Ok::<_, anyhow::Error>((login.json::<SessionIn>().await?, false));
            }
            let register = client
                .post(format!("{base}/api/register"))
                .json(&serde_json::json!({
                    "email": email,
                    "password": PASSWORD,
                    "name": format!("User {index}"),
                }))
                .send()
                .await?
                .error_for_status()
                .with_context(|| format!("cannot register {email}"))?;
            Ok((register.json::<SessionIn>().await?, true))
        })
        .buffered(API_IN_FLIGHT)
        .try_collect()
        .await?;
    let users_created = sessions.iter().filter(|(_, created)| *created).count();
    let tokens: Vec<String> = sessions.iter().map(|(s, _)| s.token.clone()).collect();
    let ids: Vec<UserId> = sessions.iter().map(|(s, _)| s.user.id).collect();
    let (tokens_ref, ids_ref) = (&tokens, &ids);
    let rooms: Vec<Room> = futures_util::stream::iter(0..users / size)
        .map(|room| async move {
            let members = members(room, size);
            let request = if size == 2 {
                client
                    .post(format!("{base}/api/chats"))
                    .json(&serde_json::json!({ "to_user_id": ids_ref[members[1]] }))
            } else {
                let others: Vec<UserId> = members[1..].iter().map(|&m| ids_ref[m]).collect();
                client
                    .post(format!("{base}/api/rooms"))
                    .json(&serde_json::json!({
                        "name": format!("Bench room {room}"),
                        "member_ids": others,
                    }))
            };
            let opened: RoomIn = request
                .bearer_auth(&tokens_ref[members[0]])
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok::<_, anyhow::Error>(Room {
                id: opened.id,
                members,
            })
        })
        .buffered(API_IN_FLIGHT)
        .try_collect()
        .await?;
    let setup = Setup {
        users_created,
        rooms_opened: rooms.len(),
        seconds: started.elapsed().as_secs_f64(),
        file: None,
    };
    let mut population = Population {
        domain: domain.to_owned(),
        users: ids,
        ..Population::default()
    };
    *population.rooms_of_mut(size) = rooms;
    Ok((population, tokens, setup))
}
