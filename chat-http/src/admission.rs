//! Which TCP connections the server takes: a cap in total and a cap per client address.
//!
//! The total cap counts every open connection, upgraded sockets included, for as long as its
//! file descriptor lives: the permit travels inside the stream ([`Admitted`]) into hyper and
//! on into the upgraded socket. The per-address cap counts connections still speaking HTTP
//! (the unauthenticated part a slowloris attack holds): an upgraded socket belongs to an
//! authenticated user and counts against that user's socket cap instead, so a load test or
//! an office behind one NAT can open thousands of sockets from one address. The stream also
//! records when bytes last moved ([`Activity`]), so a connection stuck mid-response (a
//! client that stopped reading) can be cut.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The connection caps, shared by the accept loop and every connection.
#[derive(Debug)]
pub struct Admission {
    total: Arc<Semaphore>,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    max_per_address: usize,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds `max_connections` already.
    Full,
    /// This address holds `max_connections_per_ip` HTTP connections already.
    AddressFull,
}

impl Admission {
    /// Caps of `max_total` connections and `max_per_address` HTTP connections per address.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Admission {
            total: Arc::new(Semaphore::new(max_total.min(Semaphore::MAX_PERMITS))),
            per_address: Mutex::new(HashMap::new()),
            max_per_address,
        })
    }

    /// Takes a place for a connection from `address`: the permit that lives with its file
    /// descriptor and the slot that lives while it speaks HTTP.
    pub fn admit(
        self: &Arc<Self>,
        address: IpAddr,
    ) -> Result<(OwnedSemaphorePermit, AddressSlot), Refusal> {
        let permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Full)?;
        let mut counts = self
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(address).or_insert(0);
        if *count >= self.max_per_address {
            return Err(Refusal::AddressFull);
        }
        *count += 1;
        Ok((
            permit,
            AddressSlot {
                admission: self.clone(),
                address,
            },
        ))
    }

    /// Connections open now, sockets included.
    pub fn open(&self, max_total: usize) -> usize {
        max_total.saturating_sub(self.total.available_permits())
    }
}

/// One HTTP connection's place under its address's cap; freed when dropped.
#[derive(Debug)]
pub struct AddressSlot {
    admission: Arc<Admission>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self
            .admission
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// When bytes last moved on a connection, in either direction.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    last_millis: AtomicU64,
}

impl Activity {
    /// Activity starting now.
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            start: Instant::now(),
            last_millis: AtomicU64::new(0),
        })
    }

    /// When bytes last moved.
    pub fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_millis.load(Ordering::Relaxed))
    }

    fn touch(&self) {
        let millis = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(millis, Ordering::Relaxed);
    }
}

/// A stream that holds its place under the total cap until it is closed, and records its
/// activity.
#[derive(Debug)]
pub struct Admitted<S> {
    stream: S,
    activity: Arc<Activity>,
    _permit: OwnedSemaphorePermit,
}

impl<S> Admitted<S> {
    /// Wraps `stream` with its permit; `activity` learns of every byte moved.
    pub fn new(stream: S, permit: OwnedSemaphorePermit, activity: Arc<Activity>) -> Self {
        Admitted {
            stream,
            activity,
            _permit: permit,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Admitted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.activity.touch();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Admitted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.stream).poll_write(cx, buf))?;
        self.activity.touch();
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.stream).poll_write_vectored(cx, bufs))?;
        self.activity.touch();
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_free_on_drop() {
        let admission = Admission::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let second = admission.admit(a).unwrap();
        assert_eq!(admission.admit(a).unwrap_err(), Refusal::AddressFull);
        let other = admission.admit(b).unwrap();
        assert_eq!(admission.admit(b).unwrap_err(), Refusal::Full);
        drop(first);
        assert_eq!(admission.open(3), 2);
        let (permit, slot) = second;
        drop(slot);
        let _again = admission.admit(a).unwrap();
        drop(permit);
        drop(other);
        assert_eq!(admission.open(3), 1);
    }
}
