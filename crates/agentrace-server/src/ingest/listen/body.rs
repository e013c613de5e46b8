//! Request bodies that must keep up a minimum rate: a client that sends its body slower than
//! `min_rate` bytes per second (after a grace period) is cut off, so that a stalled upload
//! does not hold a connection, a request slot and its buffer for ever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why a body was cut off.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body arrived slower than {min_rate} bytes/s (limits.body_min_rate): \
     {received} bytes in {seconds:.1} s"
)]
pub(crate) struct BodyTooSlow {
    min_rate: u64,
    received: u64,
    seconds: f64,
}

/// Whether `error` or one of its sources is [`BodyTooSlow`].
pub(crate) fn is_too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<BodyTooSlow>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// `B`, cut off with [`BodyTooSlow`] when, `grace` after it started, fewer than `min_rate`
/// bytes per second have arrived.
pub(crate) struct MinRate<B> {
    inner: B,
    started: Instant,
    grace: Duration,
    min_rate: u64,
    received: u64,
    /// When the rate falls below `min_rate` if nothing more arrives.
    deadline: Pin<Box<Sleep>>,
}

impl<B> MinRate<B> {
    pub(crate) fn new(inner: B, min_rate: u64, grace: Duration) -> Self {
        let started = Instant::now();
        Self {
            inner,
            started,
            grace,
            min_rate: min_rate.max(1),
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(started + grace)),
        }
    }

    fn next_deadline(&self) -> Instant {
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        self.started + self.grace + earned
    }
}

impl<B> Body for MinRate<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let deadline = this.next_deadline();
                    this.deadline.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTooSlow {
                    min_rate: this.min_rate,
                    received: this.received,
                    seconds: this.started.elapsed().as_secs_f64(),
                })))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that sends `chunks` one every `every`, then ends.
    struct Trickle {
        chunks: usize,
        every: Duration,
        next: Pin<Box<Sleep>>,
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.chunks == 0 {
                return Poll::Ready(None);
            }
            match self.next.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.chunks -= 1;
                    let every = self.every;
                    self.next.as_mut().reset(Instant::now() + every);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[0; 1000])))))
                }
                Poll::Pending => Poll::Pending,
            }
        }
    }

    async fn read(body: MinRate<Trickle>) -> Result<usize, axum::BoxError> {
        let bytes = axum::body::to_bytes(axum::body::Body::new(body), usize::MAX).await?;
        Ok(bytes.len())
    }

    fn trickle(chunks: usize, every: Duration) -> Trickle {
        Trickle {
            chunks,
            every,
            next: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_the_rate_arrives_whole_and_a_slower_one_is_cut_off() {
        // 1,000 bytes every 0.5 s: 2,000 bytes/s.
        let fast = MinRate::new(
            trickle(20, Duration::from_millis(500)),
            1_500,
            Duration::from_secs(1),
        );
        assert_eq!(read(fast).await.ok(), Some(20_000));

        // 1,000 bytes every 2 s: 500 bytes/s, below 1,500 once the grace has passed.
        let slow = MinRate::new(
            trickle(20, Duration::from_secs(2)),
            1_500,
            Duration::from_secs(1),
        );
        let err = read(slow)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("slower than 1500 bytes/s"), "{err}");

        // A body that never sends a byte is cut off when the grace ends.
        let stalled = MinRate::new(
            trickle(1, Duration::from_secs(3600)),
            1_500,
            Duration::from_secs(1),
        );
        let mut stalled = stalled;
        stalled.inner.next = Box::pin(tokio::time::sleep(Duration::from_secs(3600)));
        let started = Instant::now();
        assert!(read(stalled).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
