//! The cross-node bus on Redis pub/sub: publishing through the publisher task over the shared
//! command connection, and watching through the subscriber task that owns the pub/sub
//! connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chat_core::bus::{Bus, Inbound, Topic};
use chat_core::event::ServerEvent;
use chat_core::{NodeId, Result};
use redis::Client;
use tokio::sync::{mpsc, oneshot};

use crate::envelope;
use crate::error::RedisError;
use crate::keys::Keys;
use crate::options::RedisOptions;
use crate::publisher::{self, OUTBOX_CAPACITY, Publication};
use crate::requests::Requests;
use crate::subscriber::{Command, Subscriber};

/// Inbound events waiting for the engine before the bus drops further ones and owes it an
/// `Inbound::Reconnected` instead.
const INBOUND_CAPACITY: usize = 4096;

/// One node's handle on the bus; see the crate docs for the channel layout.
///
/// Dropping it stops both tasks (the publisher after writing what is queued) and closes the
/// pub/sub connection.
pub struct RedisBus {
    node: NodeId,
    outbox: mpsc::Sender<Publication>,
    control: mpsc::UnboundedSender<Command>,
    inbound: Mutex<Option<mpsc::Receiver<Inbound>>>,
    connected: Arc<AtomicBool>,
    timeout: Duration,
}

impl RedisBus {
    /// Opens the pub/sub connection and starts the subscriber task that owns it.
    pub(crate) async fn start(
        client: Client,
        keys: Keys,
        requests: Requests,
        options: &RedisOptions,
    ) -> Result<Self, RedisError> {
        let pubsub = Subscriber::open(&client, options).await?;
        let node = NodeId::generate();
        let (control, commands) = mpsc::unbounded_channel();
        let (deliver, inbound) = mpsc::channel(INBOUND_CAPACITY);
        let connected = Arc::new(AtomicBool::new(true));
        let subscriber = Subscriber::new(
            client,
            keys.clone(),
            node,
            options.clone(),
            commands,
            deliver,
            connected.clone(),
        );
        tokio::spawn(subscriber.run(pubsub));
        let (outbox, queued) = mpsc::channel(OUTBOX_CAPACITY);
        tokio::spawn(publisher::run(requests, keys, queued));
        Ok(RedisBus {
            node,
            outbox,
            control,
            inbound: Mutex::new(Some(inbound)),
            connected,
            timeout: options.command_timeout,
        })
    }

    /// Hands a watch change to the subscriber task and waits until Redis confirmed it.
    async fn change(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<(), RedisError>>) -> Command,
    ) -> Result<(), RedisError> {
        let (reply, confirmed) = oneshot::channel();
        self.control
            .send(command(reply))
            .map_err(|_| RedisError::Disconnected)?;
        match tokio::time::timeout(self.timeout, confirmed).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(RedisError::Disconnected),
            Err(_) => Err(RedisError::Timeout(self.timeout)),
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    fn node(&self) -> NodeId {
        self.node
    }

    /// Queues the event for the publisher task, which writes publications in this order and
    /// retries them through short outages; returns without waiting for Redis. Fails only
    /// when too many publications are waiting: receivers fill such gaps from the store.
    async fn publish(&self, topics: &[Topic], event: &ServerEvent) -> Result<()> {
        if topics.is_empty() {
            return Ok(());
        }
        let publication = Publication {
            topics: topics.to_vec(),
            payload: envelope::encode(self.node, event).map_err(RedisError::from)?,
            queued: Instant::now(),
        };
        self.outbox
            .try_send(publication)
            .map_err(|_| RedisError::Backlog(OUTBOX_CAPACITY))?;
        Ok(())
    }

    /// Subscribes to the topic's channel; while the pub/sub connection is down this fails,
    /// but the topic stays watched and is subscribed as soon as it is back.
    async fn watch(&self, topic: Topic) -> Result<()> {
        Ok(self.change(|reply| Command::Watch(topic, reply)).await?)
    }

    async fn unwatch(&self, topic: Topic) -> Result<()> {
        Ok(self.change(|reply| Command::Unwatch(topic, reply)).await?)
    }

    fn take_inbound(&self) -> Option<mpsc::Receiver<Inbound>> {
        chat_core::sync::lock(&self.inbound).take()
    }

    fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}
