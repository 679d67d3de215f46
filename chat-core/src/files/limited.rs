//! A reader that refuses to go past a byte limit, so an upload is cut off while it streams
//! instead of after it was stored.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Passes bytes through until more than `limit` have come, then fails every read.
pub struct Limited<R> {
    inner: R,
    remaining: u64,
    exceeded: bool,
}

impl<R> Limited<R> {
    /// Reads `inner`, failing once it yields more than `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        Limited {
            inner,
            remaining: limit,
            exceeded: false,
        }
    }

    /// Whether the limit was passed (then every read after failed).
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Limited<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.exceeded {
            return Poll::Ready(Err(too_large()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = (buf.filled().len() - before) as u64;
            match this.remaining.checked_sub(read) {
                Some(left) => this.remaining = left,
                None => {
                    this.exceeded = true;
                    buf.set_filled(before);
                    return Poll::Ready(Err(too_large()));
                }
            }
        }
        polled
    }
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::FileTooLarge, "upload exceeds the size limit")
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn bodies_up_to_the_limit_pass_and_longer_ones_fail() {
        let mut exact = Limited::new(&[7u8; 10][..], 10);
        let mut out = Vec::new();
        exact.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 10);
        assert!(!exact.exceeded());

        let mut over = Limited::new(&[7u8; 11][..], 10);
        assert!(over.read_to_end(&mut Vec::new()).await.is_err());
        assert!(over.exceeded());
    }
}
