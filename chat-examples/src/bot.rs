//! Hooks: moderation before a message is stored, and a bot that answers after.
//!
//! - A message containing "spam" is rejected: nothing is stored and the sender gets an error
//!   (code `spam`).
//! - "darn" is rewritten to "d**n" before the message is stored, so every reader and the
//!   history see the rewritten text.
//! - `/echo <text>` gets `<text>` back from the Echo Bot, right after the message.

use async_trait::async_trait;
use chat_core::hooks::{Hooks, OutgoingMessage, Verdict};
use chat_core::model::Message;
use chat_core::{Engine, ServerSender, UserId};
use tokio::sync::OnceCell;

/// The bot's id in the host's terms (its external id).
pub const BOT_EXTERNAL_ID: &str = "echo-bot";
/// The bot's display name.
pub const BOT_NAME: &str = "Echo Bot";
/// The word the moderation rewrites, and what it becomes.
pub const RUDE_WORD: (&str, &str) = ("darn", "d**n");

/// The hooks of the host example.
#[derive(Default)]
pub struct EchoBot {
    bot: OnceCell<UserId>,
}

impl EchoBot {
    /// The bot's chat user, created on first use.
    pub async fn bot_user(&self, engine: &Engine) -> chat_core::Result<UserId> {
        self.bot
            .get_or_try_init(|| async {
                let bot = engine
                    .upsert_external_user(BOT_EXTERNAL_ID, BOT_NAME)
                    .await?;
                Ok(bot.id)
            })
            .await
            .copied()
    }
}

#[async_trait]
impl Hooks for EchoBot {
    async fn on_send(&self, _engine: &Engine, message: &OutgoingMessage<'_>) -> Verdict {
        if message.text.contains("spam") {
            return Verdict::reject("spam", "no spam here");
        }
        let (rude, polite) = RUDE_WORD;
        if message.text.contains(rude) {
            return Verdict::Rewrite(message.text.replace(rude, polite));
        }
        Verdict::Accept
    }

    async fn on_sent(&self, engine: &Engine, message: &Message) {
        let Some(echo) = message.text.strip_prefix("/echo ") else {
            return;
        };
        let bot = match self.bot_user(engine).await {
            Ok(bot) if bot != message.sender_id => bot,
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(%error, "no bot user");
                return;
            }
        };
        // Keyed by the message answered: a hook that runs again answers once.
        let client_id = format!("echo-{}", message.id);
        let reply = engine
            .send_as(
                ServerSender::User(bot),
                message.room_id,
                echo,
                Some(&client_id),
            )
            .await;
        if let Err(error) = reply {
            tracing::warn!(%error, "the bot could not answer");
        }
    }
}
