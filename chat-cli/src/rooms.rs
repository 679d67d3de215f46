//! `chat room list|show` and `chat export --room`: rooms and their history straight from the
//! store.

use std::io::Write;

use anyhow::Context;
use chat_core::RoomId;
use chat_core::model::{Room, RoomKind};

use crate::cli_ops::{ExportArgs, RoomAction, RoomArgs, RoomListArgs, RoomPick};

/// Rooms, members or messages read per store call.
const PAGE: usize = 500;

/// `chat room …`.
pub async fn run(args: RoomArgs) -> anyhow::Result<()> {
    match args.action {
        RoomAction::List(list) => list_rooms(list).await,
        RoomAction::Show(pick) => show(pick).await,
    }
}

fn room_id(text: &str) -> anyhow::Result<RoomId> {
    text.parse()
        .ok()
        .with_context(|| format!("{text:?} is not a room id"))
}

fn last_seq(room: &Room) -> u64 {
    room.last_message.as_ref().map_or(0, |message| message.seq)
}

async fn list_rooms(args: RoomListArgs) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.store).await?;
    let mut after = None;
    loop {
        let page = store.all_rooms(after, PAGE).await?;
        for room in &page {
            if args.json {
                println!("{}", serde_json::to_string(room)?);
                continue;
            }
            let (kind, members, name) = match &room.group {
                Some(group) => ("group", store.member_count(room.id).await?, &*group.name),
                None => ("direct", room.members.len(), ""),
            };
            println!("{}\t{kind}\t{members}\t{}\t{name}", room.id, last_seq(room));
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.id),
            _ => return Ok(()),
        }
    }
}

/// The room as JSON, with `members`: `{"user_id","name","role"?,"joined_at"?}` each.
async fn show(args: RoomPick) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.store).await?;
    let id = room_id(&args.room)?;
    let room = store
        .room(id)
        .await?
        .with_context(|| format!("no room {id}"))?;
    let mut members: Vec<serde_json::Value> = Vec::new();
    if room.kind == RoomKind::Group {
        let mut after = None;
        loop {
            let page = store.members(id, after, PAGE).await?;
            for member in &page {
                members.push(serde_json::to_value(member)?);
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.user_id),
                _ => break,
            }
        }
    } else {
        members.extend(
            room.members
                .iter()
                .map(|user| serde_json::json!({ "user_id": user })),
        );
    }
    for member in &mut members {
        let user = member["user_id"].as_str().unwrap_or_default().parse()?;
        let name = store.user(user).await?.map(|user| user.name);
        member["name"] = name.into();
    }
    let mut shown = serde_json::to_value(&room)?;
    shown["last_seq"] = last_seq(&room).into();
    shown["members"] = members.into();
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

/// `chat export --room ID`: every entry of the room's timeline (messages and membership
/// changes), oldest first, one JSON object per line, walked up to the newest seq at the start.
pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.store).await?;
    let id = room_id(&args.room)?;
    let room = store
        .room(id)
        .await?
        .with_context(|| format!("no room {id}"))?;
    let newest = last_seq(&room);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut done = 0;
    while done < newest {
        let before = done + PAGE as u64 + 1;
        let mut page = store.page(id, Some(before), PAGE).await?;
        page.retain(|message| message.seq > done);
        page.reverse();
        let Some(last) = page.last() else { break };
        done = last.seq;
        for message in &page {
            serde_json::to_writer(&mut out, message)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}
