//! An in-process bus: nodes in one process relay to each other through shared channels.
//!
//! A single node uses [`MemoryBus::standalone`], which has nobody to relay to. Several engines
//! attached to one [`MemoryBusNetwork`] behave like nodes sharing a Redis, which lets tests
//! and embedders exercise cross-node fanout without a server, and an outage of one node's
//! connection ([`MemoryBus::disconnect`], [`MemoryBus::reconnect`]) without killing one.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::bus::{Bus, Inbound, Topic};
use crate::error::Result;
use crate::event::ServerEvent;
use crate::id::NodeId;

/// Inbound events a node may have waiting before the bus drops further ones (at-most-once).
const INBOUND_CAPACITY: usize = 4096;

struct Link {
    tx: mpsc::Sender<Inbound>,
    watched: HashSet<Topic>,
    /// False while the node's connection is down: it neither sends nor receives.
    connected: bool,
}

/// The shared medium several in-process nodes attach to.
#[derive(Clone, Default)]
pub struct MemoryBusNetwork {
    links: Arc<Mutex<HashMap<NodeId, Link>>>,
}

impl MemoryBusNetwork {
    /// A network with no nodes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node and returns its bus.
    pub fn attach(&self) -> MemoryBus {
        let node = NodeId::generate();
        let (tx, rx) = mpsc::channel(INBOUND_CAPACITY);
        self.lock().insert(
            node,
            Link {
                tx,
                watched: HashSet::new(),
                connected: true,
            },
        );
        MemoryBus {
            node,
            network: self.clone(),
            inbound: Mutex::new(Some(rx)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, Link>> {
        crate::sync::lock(&self.links)
    }
}

/// One node's handle on a [`MemoryBusNetwork`].
pub struct MemoryBus {
    node: NodeId,
    network: MemoryBusNetwork,
    inbound: Mutex<Option<mpsc::Receiver<Inbound>>>,
}

impl MemoryBus {
    /// A bus for a node that is alone: publishing reaches nobody.
    pub fn standalone() -> Self {
        MemoryBusNetwork::new().attach()
    }

    /// Cuts this node off, as a lost Redis connection would: until [`MemoryBus::reconnect`],
    /// what it publishes and what is published on its topics is lost.
    pub fn disconnect(&self) {
        if let Some(link) = self.network.lock().get_mut(&self.node) {
            link.connected = false;
        }
    }

    /// Ends a [`MemoryBus::disconnect`] and reports [`Inbound::Reconnected`], so the node
    /// looks for what it missed.
    pub fn reconnect(&self) {
        if let Some(link) = self.network.lock().get_mut(&self.node) {
            link.connected = true;
            let _dropped_when_full = link.tx.try_send(Inbound::Reconnected);
        }
    }
}

impl Drop for MemoryBus {
    fn drop(&mut self) {
        self.network.lock().remove(&self.node);
    }
}

#[async_trait]
impl Bus for MemoryBus {
    fn node(&self) -> NodeId {
        self.node
    }

    async fn publish(&self, topics: &[Topic], event: &ServerEvent) -> Result<()> {
        let links = self.network.lock();
        if !links.get(&self.node).is_some_and(|link| link.connected) {
            return Ok(());
        }
        for (node, link) in links.iter() {
            if *node == self.node || !link.connected {
                continue;
            }
            for &topic in topics {
                if link.watched.contains(&topic) {
                    let inbound = Inbound::Event {
                        topic,
                        event: event.clone(),
                    };
                    let _dropped_when_full = link.tx.try_send(inbound);
                }
            }
        }
        Ok(())
    }

    async fn watch(&self, topic: Topic) -> Result<()> {
        if let Some(link) = self.network.lock().get_mut(&self.node) {
            link.watched.insert(topic);
        }
        Ok(())
    }

    async fn unwatch(&self, topic: Topic) -> Result<()> {
        if let Some(link) = self.network.lock().get_mut(&self.node) {
            link.watched.remove(&topic);
        }
        Ok(())
    }

    fn take_inbound(&self) -> Option<mpsc::Receiver<Inbound>> {
        crate::sync::lock(&self.inbound).take()
    }

    fn is_connected(&self) -> bool {
        self.network
            .lock()
            .get(&self.node)
            .is_some_and(|link| link.connected)
    }
}
