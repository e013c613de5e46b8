//! The notifier against real HTTP receivers on loopback: signed webhooks, recoveries, Slack's
//! payload, retries, and receivers that are down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentrace_alerts::{
    ChannelConfig, ChannelKind, Engine, Measure, Notifier, Query, Reading, Retry, Rule, Source,
    State, webhook,
};
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a receiver got: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on a free port answering `status` to the first `fail_first` requests, then 200.
async fn receiver(fail_first: usize) -> Result<(String, Received), Error> {
    let received: Received = Arc::default();
    let seen = Arc::clone(&received);
    let calls = Arc::new(Mutex::new(0_usize));
    let app = Router::new().route(
        "/{*path}",
        post(move |headers: HeaderMap, body: Bytes| {
            let seen = Arc::clone(&seen);
            let calls = Arc::clone(&calls);
            async move {
                let n = {
                    let mut c = calls.lock().unwrap_or_else(|e| e.into_inner());
                    *c += 1;
                    *c
                };
                if n <= fail_first {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}"), received))
}

/// A rule source answering the error rate it is told.
struct Rate(Mutex<f64>);

impl Source for Rate {
    type Error = std::convert::Infallible;
    fn read(&self, _: &Query<'_>) -> Result<Vec<Reading>, Self::Error> {
        let value = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        Ok(vec![Reading {
            group: None,
            requests: 100,
            value: Some(value),
        }])
    }
}

fn fast_retry() -> Retry {
    Retry {
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
    }
}

/// Waits up to a minute (a bound on a stuck test, not a performance figure).
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Result<(), Error> {
    for _ in 0..3_000 {
        if done() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("timed out waiting for {what}").into())
}

fn count(r: &Received) -> usize {
    r.lock().unwrap_or_else(|e| e.into_inner()).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_hears_the_alert_and_its_recovery_after_a_retry() -> Result<(), Error> {
    let (url, received) = receiver(1).await?;
    let secret = "s3cret";
    let notifier = Notifier::start(
        vec![ChannelConfig::new(
            "ops",
            ChannelKind::Webhook {
                url: format!("{url}/hook"),
                secret: Some(secret.into()),
            },
        )],
        fast_retry(),
    )?;
    let rule = Rule::new("errors", Measure::ErrorRate, Duration::from_secs(300)).critical(0.2);
    let mut engine = Engine::new(vec![rule], None);
    let source = Rate(Mutex::new(0.5));
    let minute = 60_000_000_000;
    for n in engine.evaluate(&source, 100 * minute).notifications {
        notifier.notify(&n);
    }
    *source.0.lock().unwrap_or_else(|e| e.into_inner()) = 0.0;
    for n in engine.evaluate(&source, 101 * minute).notifications {
        notifier.notify(&n);
    }
    wait_for("two deliveries", || count(&received) == 2).await?;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut states = Vec::new();
    for (headers, body) in &got {
        let timestamp: u64 = headers[webhook::TIMESTAMP_HEADER].to_str()?.parse()?;
        let signature = headers[webhook::SIGNATURE_HEADER].to_str()?;
        assert_eq!(signature, webhook::sign(secret, timestamp, body));
        assert_ne!(signature, webhook::sign("other", timestamp, body));
        let json: serde_json::Value = serde_json::from_slice(body)?;
        states.push((json["previous"].clone(), json["state"].clone()));
    }
    assert_eq!(
        states,
        [
            (serde_json::json!("OK"), serde_json::json!("ALERT")),
            (serde_json::json!("ALERT"), serde_json::json!("OK")),
        ]
    );
    let status = &notifier.status()[0];
    assert_eq!((status.delivered, status.retries, status.failed), (2, 1, 0));
    assert!(!status.failing);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_receiver_blocks_nothing_and_its_channel_is_marked_failing() -> Result<(), Error> {
    // A port nothing listens on, beside a live Slack receiver.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let dead_url = format!("http://{}/hook", dead.local_addr()?);
    drop(dead);
    let (slack_url, slack) = receiver(0).await?;
    let notifier = Notifier::start(
        vec![
            ChannelConfig::new(
                "dead",
                ChannelKind::Webhook {
                    url: dead_url,
                    secret: None,
                },
            ),
            ChannelConfig::new(
                "chat",
                ChannelKind::Slack {
                    url: format!("{slack_url}/services/x"),
                },
            ),
        ],
        fast_retry(),
    )?;
    let rule = Rule::new("errors <b>", Measure::ErrorRate, Duration::from_secs(300)).critical(0.2);
    let mut engine = Engine::new(vec![rule], None);
    let source = Rate(Mutex::new(0.5));
    let mut notifications = engine.evaluate(&source, 60_000_000_000).notifications;
    let n = notifications.pop().ok_or("no notification")?;
    // Far more than a queue holds, sent at once: the caller never waits.
    let started = Instant::now();
    for _ in 0..3 * agentrace_alerts::QUEUE {
        notifier.notify(&n);
    }
    let took = started.elapsed();
    wait_for("the dead channel to be marked failing", || {
        notifier.status()[0].failing
    })
    .await?;
    wait_for("the live channel to deliver what it queued", || {
        count(&slack) >= agentrace_alerts::QUEUE
    })
    .await?;
    let status = notifier.status();
    assert!(status[0].dropped > 0, "{status:?}");
    assert!(status[0].last_error.is_some());
    assert!(
        status[1].dropped > 0,
        "its queue overflowed too: {status:?}"
    );
    assert!(!status[1].failing);
    assert_eq!(n.state, State::Alert);
    // Slack's text is escaped: telemetry cannot open a link or ping a channel.
    let body: serde_json::Value =
        serde_json::from_slice(&slack.lock().unwrap_or_else(|e| e.into_inner())[0].1)?;
    let text = body["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("errors &lt;b&gt;") && !text.contains("<b>"),
        "{text}"
    );
    // Informational: the sends above were queue operations only.
    eprintln!(
        "{} notifications queued in {took:?}",
        3 * agentrace_alerts::QUEUE
    );
    notifier.shutdown(Duration::from_millis(100));
    Ok(())
}
