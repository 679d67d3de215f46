//! The task that owns the bus's pub/sub connection: it applies watch changes, forwards what
//! arrives to the engine, and when Redis goes away reconnects with backoff, re-subscribes
//! every watched topic and tells the engine it may have missed events.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chat_core::NodeId;
use chat_core::bus::{Inbound, Topic};
use chat_core::event::ServerEvent;
use futures_util::StreamExt;
use redis::aio::{PubSub, PubSubSink};
use redis::{Client, Msg};
use tokio::sync::{mpsc, oneshot};

use crate::envelope;
use crate::error::RedisError;
use crate::keys::Keys;
use crate::options::RedisOptions;
use crate::requests::bounded;

/// Channels per `SUBSCRIBE` when re-subscribing everyone after a reconnect.
const RESUBSCRIBE_BATCH: usize = 1000;

/// Where the subscriber confirms a watch change.
pub(crate) type Reply = oneshot::Sender<Result<(), RedisError>>;

/// A watch change asked for by the bus.
pub(crate) enum Command {
    /// Receive the topic's events from now on.
    Watch(Topic, Reply),
    /// Stop receiving the topic's events.
    Unwatch(Topic, Reply),
}

/// Why serving a connection ended.
enum Ended {
    /// Redis closed it or stopped answering.
    Lost,
    /// The bus was dropped.
    Stopped,
}

/// The state of the pub/sub side of one bus; lives in its own task.
pub(crate) struct Subscriber {
    client: Client,
    keys: Keys,
    node: NodeId,
    options: RedisOptions,
    control: mpsc::UnboundedReceiver<Command>,
    inbound: mpsc::Sender<Inbound>,
    connected: Arc<AtomicBool>,
    /// Topics the engine asked for, whether or not the current connection has them yet.
    watched: HashSet<Topic>,
    /// Events were lost (disconnected, or the engine fell behind): the engine must be told
    /// with `Inbound::Reconnected` before anything else.
    owes_resync: bool,
}

impl Subscriber {
    pub(crate) fn new(
        client: Client,
        keys: Keys,
        node: NodeId,
        options: RedisOptions,
        control: mpsc::UnboundedReceiver<Command>,
        inbound: mpsc::Sender<Inbound>,
        connected: Arc<AtomicBool>,
    ) -> Self {
        Subscriber {
            client,
            keys,
            node,
            options,
            control,
            inbound,
            connected,
            watched: HashSet::new(),
            owes_resync: false,
        }
    }

    /// Opens a pub/sub connection, failing within the connect timeout.
    pub(crate) async fn open(
        client: &Client,
        options: &RedisOptions,
    ) -> Result<PubSub, RedisError> {
        bounded(options.connect_timeout, client.get_async_pubsub()).await
    }

    /// Serves `first` (subscribed to nothing yet), then every connection after it, until the
    /// bus is dropped.
    pub(crate) async fn run(mut self, first: PubSub) {
        let mut pubsub = first;
        loop {
            self.connected.store(true, Ordering::Relaxed);
            self.flush_owed();
            let ended = self.serve(pubsub).await;
            self.connected.store(false, Ordering::Relaxed);
            if let Ended::Stopped = ended {
                return;
            }
            tracing::warn!("redis pub/sub connection lost; cross-node delivery paused");
            self.owes_resync = true;
            match self.reconnect().await {
                Some(next) => pubsub = next,
                None => return,
            }
            chat_core::metrics::bus_reconnected(crate::publisher::BUS);
            tracing::info!(
                watched = self.watched.len(),
                "redis pub/sub reconnected and re-subscribed"
            );
        }
    }

    async fn serve(&mut self, pubsub: PubSub) -> Ended {
        let (mut sink, mut stream) = pubsub.split();
        let mut subscribed = self.watched.clone();
        let mut ping = tokio::time::interval(self.options.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            tokio::select! {
                command = self.control.recv() => {
                    let Some(command) = command else { return Ended::Stopped };
                    if let Err(err) = self.apply(command, &mut sink, &mut subscribed).await {
                        tracing::debug!(error = %err, "redis subscribe failed");
                        return Ended::Lost;
                    }
                }
                message = stream.next() => match message {
                    Some(message) => self.forward(&message),
                    None => return Ended::Lost,
                },
                _ = ping.tick() => {
                    self.flush_owed();
                    let timeout = self.options.command_timeout;
                    if let Err(err) = bounded(timeout, sink.ping::<redis::Value>()).await {
                        tracing::debug!(error = %err, "redis pub/sub ping failed");
                        return Ended::Lost;
                    }
                }
            }
        }
    }

    /// Applies `first` and every change queued behind it with at most one `SUBSCRIBE` and one
    /// `UNSUBSCRIBE`, then answers them all.
    async fn apply(
        &mut self,
        first: Command,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<Topic>,
    ) -> Result<(), RedisError> {
        let mut replies = Vec::new();
        let mut touched = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next {
            let (topic, reply) = self.record(command);
            touched.push(topic);
            replies.push(reply);
            next = self.control.try_recv().ok();
        }
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for topic in touched {
            if self.watched.contains(&topic) {
                if subscribed.insert(topic) {
                    add.push(self.keys.channel(topic));
                }
            } else if subscribed.remove(&topic) {
                remove.push(self.keys.channel(topic));
            }
        }
        let timeout = self.options.command_timeout;
        let mut result = Ok(());
        if !add.is_empty() {
            result = bounded(timeout, sink.subscribe(&add)).await;
        }
        if result.is_ok() && !remove.is_empty() {
            result = bounded(timeout, sink.unsubscribe(&remove)).await;
        }
        for reply in replies {
            let outcome = match &result {
                Ok(()) => Ok(()),
                Err(_) => Err(RedisError::Disconnected),
            };
            let _caller_may_have_timed_out = reply.send(outcome);
        }
        result
    }

    /// Updates the watched set; the caller decides what to tell Redis.
    fn record(&mut self, command: Command) -> (Topic, Reply) {
        match command {
            Command::Watch(topic, reply) => {
                self.watched.insert(topic);
                (topic, reply)
            }
            Command::Unwatch(topic, reply) => {
                self.watched.remove(&topic);
                (topic, reply)
            }
        }
    }

    fn forward(&mut self, message: &Msg) {
        let Some(topic) = self.keys.channel_topic(message.get_channel_name()) else {
            return;
        };
        if !self.watched.contains(&topic) {
            return;
        }
        let incoming = match envelope::decode(message.get_payload_bytes()) {
            Ok(incoming) => incoming,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable bus message dropped");
                return;
            }
        };
        if incoming.origin == self.node {
            return;
        }
        self.flush_owed();
        if self.owes_resync {
            return;
        }
        let relayed = match &incoming.event {
            ServerEvent::Message(message) => Some(message),
            _ => None,
        };
        chat_core::metrics::bus_relayed(crate::publisher::BUS, relayed);
        let item = Inbound::Event {
            topic,
            event: incoming.event,
        };
        if self.inbound.try_send(item).is_err() {
            tracing::warn!("engine behind on bus events; dropping until it catches up");
            self.owes_resync = true;
        }
    }

    /// Tells the engine it missed events, if it owes that and the engine has room for it.
    fn flush_owed(&mut self) {
        if self.owes_resync && self.inbound.try_send(Inbound::Reconnected).is_ok() {
            self.owes_resync = false;
        }
    }

    /// Reconnects and re-subscribes every watched topic, backing off between attempts;
    /// `None` if the bus was dropped meanwhile.
    async fn reconnect(&mut self) -> Option<PubSub> {
        let mut delay = self.options.reconnect_min;
        loop {
            if !self.pause(jittered(delay)).await {
                return None;
            }
            match self.resubscribed().await {
                Ok(pubsub) => return Some(pubsub),
                Err(err) => {
                    tracing::debug!(error = %err, "redis pub/sub reconnect failed");
                    delay = (delay * 2).min(self.options.reconnect_max);
                }
            }
        }
    }

    async fn resubscribed(&self) -> Result<PubSub, RedisError> {
        let mut pubsub = Self::open(&self.client, &self.options).await?;
        let channels: Vec<String> = self
            .watched
            .iter()
            .map(|&topic| self.keys.channel(topic))
            .collect();
        for batch in channels.chunks(RESUBSCRIBE_BATCH) {
            bounded(self.options.command_timeout, pubsub.subscribe(batch)).await?;
        }
        Ok(pubsub)
    }

    /// Waits `delay` while answering watch changes: they are recorded for the next
    /// connection, and a watch reports that delivery is not live yet. False if the bus was
    /// dropped.
    async fn pause(&mut self, delay: Duration) -> bool {
        let wake = tokio::time::sleep(delay);
        tokio::pin!(wake);
        loop {
            tokio::select! {
                _ = &mut wake => return true,
                command = self.control.recv() => {
                    let Some(command) = command else { return false };
                    let watching = matches!(command, Command::Watch(..));
                    let (_, reply) = self.record(command);
                    let outcome = if watching { Err(RedisError::Disconnected) } else { Ok(()) };
                    let _caller_may_have_timed_out = reply.send(outcome);
                }
            }
        }
    }
}

/// Between half and all of `delay`, so nodes that lost Redis together do not all come back
/// in the same instant.
fn jittered(delay: Duration) -> Duration {
    let millis = delay.as_millis().max(2) as u64;
    Duration::from_millis(rand::random_range(millis / 2..=millis))
}
