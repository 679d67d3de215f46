//! The bench's users and direct rooms: prepared fast in the server's store (or, for small
//! counts against a remote server, through the public API), and kept in a file in the data
//! dir so later runs reuse them.
//!
//! Users are `user{i}@{domain}` named `User {i}`, as `chat user import --count` names them,
//! so a population imported by an operator is found rather than duplicated. Room `k` is the
//! direct room of users `2k` and `2k + 1`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chat_cli::StoreArgs;
use chat_core::error::Error as CoreError;
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

/// A direct room of the population.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Room {
    /// Its id.
    pub id: RoomId,
    /// Indexes of its two members in [`Population::users`].
    pub members: [usize; 2],
}

/// Users and rooms ready for a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Population {
    /// Email domain of the users.
    pub domain: String,
    /// User ids; user `i` is `user{i}@{domain}`.
    pub users: Vec<UserId>,
    /// Rooms; room `k` pairs users `2k` and `2k + 1`.
    pub rooms: Vec<Room>,
}

impl Population {
    /// The first `users` users and their rooms.
    fn truncated(mut self, users: usize) -> Self {
        self.users.truncate(users);
        self.rooms.truncate(users / 2);
        self
    }
}

/// How the population was obtained, for the report.
#[derive(Debug, Clone, Serialize)]
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

/// The population of `users` users in the store of `store`, created where missing.
pub async fn prepare_in_store(
    store: &StoreArgs,
    domain: &str,
    users: usize,
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
    let rooms_opened = add_rooms(db.as_ref(), &mut population, users).await?;
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
    Ok((population.truncated(users), setup))
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

/// Whether the store still holds the kept population (its last user and room).
async fn still_stored(db: &dyn Store, kept: &Population) -> anyhow::Result<bool> {
    if let Some(last) = kept.users.last()
        && db.user(*last).await?.is_none()
    {
        return Ok(false);
    }
    if let Some(last) = kept.rooms.last()
        && db.room(last.id).await?.is_none()
    {
        return Ok(false);
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

async fn add_rooms(
    db: &dyn Store,
    population: &mut Population,
    users: usize,
) -> anyhow::Result<usize> {
    let have = population.rooms.len();
    let want = users / 2;
    if have >= want {
        return Ok(0);
    }
    let ids = &population.users;
    let rooms: Vec<Room> = futures_util::stream::iter(have..want)
        .map(|room| async move {
            let members = [2 * room, 2 * room + 1];
            let opened = db
                .direct_room(ids[members[0]], ids[members[1]], now())
                .await?;
            Ok::<_, CoreError>(Room {
                id: opened.id,
                members,
            })
        })
        .buffered(ROOMS_IN_FLIGHT)
        .try_collect()
        .await?;
    population.rooms.extend(rooms);
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

/// The population made through the public API (login, else register; then open rooms), with
/// a token per user. Password hashing makes this slow: for small counts and remote servers.
pub async fn prepare_via_api(
    base: &str,
    domain: &str,
    users: usize,
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
    let rooms: Vec<Room> = futures_util::stream::iter(0..users / 2)
        .map(|room| async move {
            let members = [2 * room, 2 * room + 1];
            let opened: RoomIn = client
                .post(format!("{base}/api/chats"))
                .bearer_auth(&tokens_ref[members[0]])
                .json(&serde_json::json!({ "to_user_id": ids_ref[members[1]] }))
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
    let population = Population {
        domain: domain.to_owned(),
        users: ids,
        rooms,
    };
    Ok((population, tokens, setup))
}
