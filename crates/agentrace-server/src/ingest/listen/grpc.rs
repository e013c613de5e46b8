//! The gRPC listener's side of connection hygiene: tonic takes our connections (through the
//! [`Gate`], with a deadline for their first bytes) and each `Export` call passes
//! [`GrpcHygiene`] (requests in flight, body rate).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::Gate;
use super::body::MinRate;
use crate::config::ReceiveLimits;
use crate::telemetry::stats::ListenerStats;

/// The connections `gate` lets in, each closed if its first bytes do not come within
/// `first_bytes` (HTTP/2 has no header timeout of its own; once it runs, its pings find dead
/// peers).
pub(crate) fn incoming(
    gate: Gate,
    first_bytes: Duration,
) -> impl Stream<Item = io::Result<GrpcConnection>> {
    futures_util::stream::unfold(gate, move |gate| async move {
        let (stream, slot) = gate.accept().await;
        let connection = GrpcConnection {
            stream,
            _slot: slot,
            first_bytes: Some(Box::pin(tokio::time::sleep(first_bytes))),
        };
        Some((Ok(connection), gate))
    })
}

/// A connection of the gRPC listener: its slot, and the deadline of its first bytes.
pub(crate) struct GrpcConnection {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    first_bytes: Option<Pin<Box<Sleep>>>,
}

impl Connected for GrpcConnection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for GrpcConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.first_bytes = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.first_bytes.as_mut().map(|s| s.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no bytes within limits.header_timeout",
                ))),
                _ => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for GrpcConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Requests in flight and body rate for the gRPC listener's calls (shared by its services).
#[derive(Debug, Clone)]
pub(crate) struct GrpcHygiene {
    slots: Arc<Semaphore>,
    stats: Arc<ListenerStats>,
    body_min_rate: u64,
    grace: Duration,
}

impl GrpcHygiene {
    pub(crate) fn new(limits: &ReceiveLimits, stats: Arc<ListenerStats>) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_in_flight)),
            stats,
            body_min_rate: limits.body_min_rate,
            grace: limits.header_timeout,
        }
    }

    /// A slot for a call and its body made to keep the minimum rate; `Err`: refused, with the
    /// answer (`UNAVAILABLE`, retryable).
    pub(crate) fn admit(
        &self,
        request: http::Request<Body>,
    ) -> Result<(OwnedSemaphorePermit, http::Request<Body>), Status> {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            self.stats.requests_shed.fetch_add(1, Ordering::Relaxed);
            return Err(Status::unavailable(
                "too many requests in flight (limits.max_in_flight); try again",
            ));
        };
        let (min_rate, grace) = (self.body_min_rate, self.grace);
        Ok((
            slot,
            request.map(|b| Body::new(MinRate::new(b, min_rate, grace))),
        ))
    }
}
