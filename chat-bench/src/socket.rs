//! One client socket's task: writes the frames the scheduler hands it, reads events into the
//! collector (answering Centrifugo's pings), and closes cleanly when the bench drops its
//! handle. A message's send lag is taken when the write that carries it has completed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::centrifugo::{self, Reply};
use crate::collector::Collector;
use crate::frames::Protocol;

/// Most queued frames written before one flush.
const MAX_BATCH: usize = 64;
/// How long a closing socket waits for the server's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A message for the socket to write.
pub struct Outgoing {
    /// Step of the message.
    pub step: u32,
    /// When it was due, since the step's epoch.
    pub scheduled: Duration,
    /// The client frame.
    pub frame: String,
}

/// The bench's side of an open socket: dropping it closes the socket.
pub struct SocketHandle {
    outgoing: mpsc::UnboundedSender<Outgoing>,
    task: JoinHandle<()>,
}

impl SocketHandle {
    /// The socket's queue, for the scheduler thread.
    pub fn outlet(&self) -> mpsc::UnboundedSender<Outgoing> {
        self.outgoing.clone()
    }

    /// Whether the socket is still open.
    pub fn is_open(&self) -> bool {
        !self.outgoing.is_closed()
    }

    /// Closes the socket and waits for its task.
    pub async fn close(self) {
        drop(self.outgoing);
        let _ended = self.task.await;
    }
}

/// Starts the task of socket `number`, speaking `protocol`.
pub fn spawn(
    socket: WebSocketStream<TcpStream>,
    number: u32,
    protocol: Protocol,
    collector: Arc<Collector>,
) -> SocketHandle {
    let (outgoing, queue) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(socket, number, protocol, queue, collector));
    SocketHandle { outgoing, task }
}

async fn run(
    socket: WebSocketStream<TcpStream>,
    number: u32,
    protocol: Protocol,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    collector: Arc<Collector>,
) {
    let (mut sink, mut stream) = socket.split();
    let mut due = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            next = queue.recv() => {
                let Some(first) = next else {
                    // The bench is done with this socket: close it politely.
                    if sink.send(Message::Close(None)).await.is_ok() {
                        let drain = async {
                            while let Some(Ok(frame)) = stream.next().await {
                                if matches!(frame, Message::Close(_)) {
                                    break;
                                }
                            }
                        };
                        let _timed_out = tokio::time::timeout(CLOSE_WAIT, drain).await;
                    }
                    return;
                };
                let mut batch = Some(first);
                let mut failed = false;
                while let Some(message) = batch.take() {
                    due.push((message.step, message.scheduled));
                    if sink.feed(Message::text(message.frame)).await.is_err() {
                        failed = true;
                        break;
                    }
                    if due.len() < MAX_BATCH {
                        batch = queue.try_recv().ok();
                    }
                }
                if failed || sink.flush().await.is_err() {
                    collector.socket_ended(0);
                    return;
                }
                let written = Instant::now();
                for (step, scheduled) in due.drain(..) {
                    collector.written(step, scheduled, written);
                }
            }
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    match protocol {
                        Protocol::Chat => collector.frame(number, text.as_str(), at),
                        Protocol::Centrifugo => {
                            let mut ping = false;
                            for line in text.as_str().lines() {
                                match centrifugo::decode(line, collector.run()) {
                                    Reply::Event(event) => collector.event(number, event, at),
                                    Reply::Ping => ping = true,
                                    Reply::Answer(..) | Reply::Other => {}
                                }
                            }
                            if ping && sink.send(Message::text("{}")).await.is_err() {
                                collector.socket_ended(0);
                                return;
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(close))) => {
                    collector.socket_ended(close.map_or(0, |frame| frame.code.into()));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    collector.socket_ended(0);
                    return;
                }
            },
        }
    }
}
