//! The notifier: one thread that delivers notifications to every channel, so that neither the
//! rule engine nor an application recording spend ever waits on a receiver.
//!
//! Each channel has its own bounded queue and its own task: a slow or dead receiver delays
//! only its own channel. [`Notifier::notify`] never blocks; a full queue drops the
//! notification and counts it. A delivery that fails is retried with exponential backoff
//! ([`Retry`]); a channel whose last [`FAILING_AFTER`] deliveries all failed is marked
//! *failing* (in its [`ChannelStatus`] and the log) and, until one succeeds, gets one attempt
//! per notification so its queue keeps moving.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::channel::{self, ChannelConfig, Delivery};
use crate::notification::Notification;
use crate::report::ReportMessage;

/// Notifications waiting per channel at most.
pub const QUEUE: usize = 1_024;

/// Consecutive failed deliveries that mark a channel failing.
pub const FAILING_AFTER: u64 = 3;

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts per delivery, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each next one.
    pub first_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A channel's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChannelStatus {
    /// Its name.
    pub name: String,
    /// Its kind (`webhook`, …).
    pub kind: &'static str,
    /// Deliveries that arrived.
    pub delivered: u64,
    /// Deliveries given up after every attempt.
    pub failed: u64,
    /// Attempts repeated after a failure.
    pub retries: u64,
    /// Notifications dropped because its queue was full.
    pub dropped: u64,
    /// Deliveries failed in a row since the last that arrived.
    pub consecutive_failures: u64,
    /// Whether it is failing (see the module docs).
    pub failing: bool,
    /// The last error.
    pub last_error: Option<String>,
    /// When a delivery last arrived (ns since the epoch).
    pub last_delivered_unix_nano: Option<u64>,
}

/// What a channel's task and the notifier share.
#[derive(Debug)]
struct Channel {
    config: ChannelConfig,
    status: Mutex<ChannelStatus>,
}

impl Channel {
    fn status(&self) -> std::sync::MutexGuard<'_, ChannelStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The notifier's end of a channel: dropping `queue` ends its task once the queue is empty.
#[derive(Debug)]
struct Handle {
    channel: Arc<Channel>,
    queue: mpsc::Sender<Delivery>,
}

impl Handle {
    fn offer(&self, delivery: Delivery) {
        if self.queue.try_send(delivery).is_err() {
            self.channel.status().dropped += 1;
        }
    }
}

/// The notifier could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Its thread or runtime could not be created.
    #[error("cannot start the alert notifier: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the alert notifier's HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Delivers notifications to channels from a thread of its own. Dropping it (or
/// [`shutdown`](Self::shutdown)) lets the queued deliveries finish for a moment, then stops.
#[derive(Debug)]
pub struct Notifier {
    channels: Vec<Handle>,
    thread: Option<JoinHandle<()>>,
    stop: Option<tokio::sync::oneshot::Sender<Duration>>,
}

impl Notifier {
    /// Starts the notifier's thread with a queue and a task per channel.
    pub fn start(configs: Vec<ChannelConfig>, retry: Retry) -> Result<Self, StartError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("agentrace/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut receivers = Vec::with_capacity(configs.len());
        let channels: Vec<Handle> = configs
            .into_iter()
            .map(|config| {
                let (queue, rx) = mpsc::channel(QUEUE);
                let status = ChannelStatus {
                    name: config.name.clone(),
                    kind: config.kind.name(),
                    ..ChannelStatus::default()
                };
                let channel = Arc::new(Channel {
                    config,
                    status: Mutex::new(status),
                });
                receivers.push((Arc::clone(&channel), rx));
                Handle { channel, queue }
            })
            .collect();
        let (stop, stopped) = tokio::sync::oneshot::channel::<Duration>();
        let thread = std::thread::Builder::new()
            .name("agentrace-alerts".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut tasks = tokio::task::JoinSet::new();
                    for (channel, rx) in receivers {
                        tasks.spawn(run(client.clone(), channel, rx, retry));
                    }
                    // On stop: the queues are closed by then; give the tasks the grace.
                    let grace = stopped.await.unwrap_or(Duration::ZERO);
                    let _ = tokio::time::timeout(grace, async {
                        while tasks.join_next().await.is_some() {}
                    })
                    .await;
                });
            })?;
        Ok(Self {
            channels,
            thread: Some(thread),
            stop: Some(stop),
        })
    }

    /// Queues `n` for every channel it is routed to; never blocks.
    pub fn notify(&self, n: &Notification) {
        let shared = Arc::new(n.clone());
        for handle in &self.channels {
            if n.routed_to(&handle.channel.config.name) {
                handle.offer(Delivery::Notification(Arc::clone(&shared)));
            }
        }
    }

    /// Queues a report for every channel it is routed to; never blocks.
    pub fn report(&self, r: &ReportMessage) {
        let shared = Arc::new(r.clone());
        for handle in &self.channels {
            if r.routed_to(&handle.channel.config.name) {
                handle.offer(Delivery::Report(Arc::clone(&shared)));
            }
        }
    }

    /// Queues the alerts firing now for the channels that want them all again at every
    /// evaluation (Alertmanager); never blocks.
    pub fn firing(&self, firing: &[Notification]) {
        for handle in &self.channels {
            let config = &handle.channel.config;
            if config.kind.wants_firing() {
                let routed: Vec<_> = firing
                    .iter()
                    .filter(|n| n.routed_to(&config.name))
                    .cloned()
                    .collect();
                handle.offer(Delivery::Firing(routed));
            }
        }
    }

    /// Every channel's figures, in configuration order.
    pub fn status(&self) -> Vec<ChannelStatus> {
        self.channels
            .iter()
            .map(|h| h.channel.status().clone())
            .collect()
    }

    /// The channels' configurations.
    pub fn channels(&self) -> impl Iterator<Item = &ChannelConfig> {
        self.channels.iter().map(|h| &h.channel.config)
    }

    /// Stops taking notifications, lets those queued be delivered for up to `grace`, and
    /// stops the thread.
    pub fn shutdown(mut self, grace: Duration) {
        self.stop_thread(grace);
    }

    fn stop_thread(&mut self, grace: Duration) {
        // Closing the queues ends each task once its queue is empty.
        self.channels.clear();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop_thread(Duration::from_secs(2));
    }
}

/// A channel's task: deliver each queued delivery, retrying as `retry` says.
async fn run(
    client: reqwest::Client,
    channel: Arc<Channel>,
    mut rx: mpsc::Receiver<Delivery>,
    retry: Retry,
) {
    while let Some(delivery) = rx.recv().await {
        let attempts = if channel.status().failing {
            1
        } else {
            retry.attempts.max(1)
        };
        let mut backoff = retry.first_backoff;
        let mut attempt = 1;
        loop {
            match channel::deliver(&client, &channel.config.kind, &delivery).await {
                Ok(()) => {
                    let mut s = channel.status();
                    s.delivered += 1;
                    s.consecutive_failures = 0;
                    s.last_delivered_unix_nano = Some(now());
                    if s.failing {
                        s.failing = false;
                        tracing::info!(channel = %s.name, "alert channel {} delivers again", s.name);
                    }
                    break;
                }
                Err(e) if attempt < attempts => {
                    channel.status().retries += 1;
                    tracing::debug!(channel = %channel.config.name, error = %e, "alert delivery failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(retry.max_backoff);
                    attempt += 1;
                }
                Err(e) => {
                    let mut s = channel.status();
                    s.failed += 1;
                    s.consecutive_failures += 1;
                    s.last_error = Some(e.to_string());
                    if !s.failing && s.consecutive_failures >= FAILING_AFTER {
                        s.failing = true;
                        tracing::error!(
                            channel = %s.name,
                            error = %e,
                            "alert channel {} is failing: its last {} deliveries did not arrive",
                            s.name,
                            s.consecutive_failures
                        );
                    }
                    break;
                }
            }
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
