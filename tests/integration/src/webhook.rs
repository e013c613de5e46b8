//! A webhook receiver for agentrace's alert notifications: it keeps the notifications whose
//! signature (`agentrace_alerts::webhook`) checks with the secret, and refuses the rest.

use std::sync::{Arc, Mutex, PoisonError};

use agentrace_alerts::webhook;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// The signed notifications received so far, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Received(Arc<Mutex<Vec<Value>>>);

impl Received {
    /// A copy of what was received.
    pub fn all(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, notification: Value) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(notification);
    }
}

/// Listens on a free port of loopback for notifications signed with `secret`: its URL
/// (`http://127.0.0.1:PORT/hook`) and what it receives.
///
/// # Panics
/// If no port can be bound.
pub async fn receiver(secret: &'static str) -> (String, Received) {
    let received = Received::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let timestamp = get(webhook::TIMESTAMP_HEADER).and_then(|t| t.parse().ok());
                let signed = matches!(
                    (timestamp, get(webhook::SIGNATURE_HEADER)),
                    (Some(t), Some(s)) if s == webhook::sign(secret, t, &body)
                );
                if !signed {
                    return StatusCode::UNAUTHORIZED;
                }
                seen.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!(
        "http://{}/hook",
        listener.local_addr().expect("its address")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}
