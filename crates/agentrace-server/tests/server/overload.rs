//! Overload: a full writer queue gets a retryable answer at once instead of queueing without
//! bound; what was acknowledged is stored; graceful shutdown answers and stores what is queued.

use agentrace_store::Analytics;
use agentrace_store::Retention;
use std::time::Duration;

use agentrace_sqlite::RecordKind;
use tonic_types::StatusExt;

use crate::common::*;

const REQUESTS: u64 = 12;

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() -> Result {
    let budgets = tempfile::tempdir()?;
    let budgets = budgets.path().join("budgets.toml");
    std::fs::write(
        &budgets,
        "[[budget]]\nname = \"all\"\nscope = \"global\"\nperiod = \"total\"\nlimit_usd = 1000.0\n",
    )?;
    let t = TestServer::start(|c| {
        c.limits.queue_requests = 1;
        c.budgets = Some(budgets.clone());
    })
    .await?;
    // Another connection holds SQLite's write lock: the writer waits, its queue fills.
    let lock = WriteLock::take(&t)?;
    let mut sent = Vec::new();
    for i in 0..REQUESTS {
        let url = t.http_url("/v1/traces");
        let body = protobuf(&llm_traces(i * 10, 10));
        sent.push(tokio::spawn(async move {
            post(&url, PROTOBUF, &[], body).await
        }));
    }
    // Refusals come back at once, while the writer is still blocked.
    let stats_now = || Ok(t.server.stats().requests.overloaded > 0);
    assert!(eventually(Duration::from_secs(4), stats_now).await?);
    lock.release()?;

    let mut ok = 0;
    for task in sent {
        let answer = task.await??;
        match answer.status {
            200 => ok += 1,
            503 => {
                assert_eq!(answer.header("retry-after"), Some("1"));
                let status = <tonic_types::pb::Status as prost::Message>::decode(&answer.body[..])?;
                assert_eq!(status.code, tonic::Code::ResourceExhausted as i32);
                assert!(status.message.contains("overloaded"), "{}", status.message);
            }
            other => return Err(format!("unexpected status {other}: {}", answer.text()).into()),
        }
    }
    assert!((1..REQUESTS).contains(&ok), "{ok} of {REQUESTS} accepted");
    // Every acknowledged span is stored, nothing else.
    assert_eq!(t.stored(RecordKind::Spans)?, ok * 10);
    let stats = t.server.stats();
    assert_eq!(stats.requests.overloaded, REQUESTS - ok);
    assert_eq!(stats.writer.queued_requests, 0);
    assert_eq!(stats.writer.queued_records, 0);
    // Refused requests were not processed: the budget counts the stored spans' cost only.
    let stored_cost = t
        .fresh_store()?
        .overview_exact(agentrace_sqlite::TimeRange::ALL)?
        .cost;
    let spent = t
        .server
        .state()
        .configured_budgets()
        .and_then(|b| b.status().first().map(|s| s.spent));
    assert!(stored_cost.is_some_and(|c| c > agentrace_core::Usd::ZERO));
    assert_eq!(spent, stored_cost);
    Ok(())
}

#[tokio::test]
async fn grpc_overload_is_resource_exhausted_with_retry_info() -> Result {
    let t = TestServer::start(|c| c.limits.queue_requests = 1).await?;
    let lock = WriteLock::take(&t)?;
    let mut sent = Vec::new();
    for i in 0..REQUESTS {
        let mut client = t.grpc().await?;
        sent.push(tokio::spawn(async move {
            client.export(llm_traces(i * 10, 10)).await
        }));
    }
    assert!(
        eventually(Duration::from_secs(4), || Ok(t
            .server
            .stats()
            .requests
            .overloaded
            > 0))
        .await?
    );
    lock.release()?;
    let mut refused = 0;
    for task in sent {
        if let Err(status) = task.await? {
            refused += 1;
            assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
            let retry = status.get_details_retry_info().ok_or("no RetryInfo")?;
            assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));
        }
    }
    assert!(refused >= 1);
    assert_eq!(t.stored(RecordKind::Spans)?, (REQUESTS - refused) * 10);
    Ok(())
}

#[tokio::test]
async fn graceful_shutdown_stores_and_answers_what_is_in_flight() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let lock = WriteLock::take(&t)?;
    let mut sent = Vec::new();
    for i in 0..5 {
        let url = t.http_url("/v1/traces");
        let body = protobuf(&llm_traces(i * 10, 10));
        sent.push(tokio::spawn(async move {
            post(&url, PROTOBUF, &[], body).await
        }));
    }
    // All five are with the writer (blocked by the lock) when shutdown starts.
    assert!(
        eventually(Duration::from_secs(4), || Ok(t
            .server
            .stats()
            .spans
            .accepted
            == 50))
        .await?
    );
    let TestServer { server, dir } = t;
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    lock.release()?;
    let stats = shutdown.await??;
    for task in sent {
        let answer = task.await??;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    assert_eq!(stats.spans.stored, 50);
    assert!(!stats.writer.alive);
    // The fan-out pipeline was flushed: /metrics got every derived measurement.
    let pipeline = stats.pipeline.ok_or("no pipeline stats")?;
    assert_eq!(pipeline.queue_depth, 0);
    let metrics = pipeline
        .sinks
        .iter()
        .find(|s| s.name == "prometheus")
        .ok_or("no sink")?;
    assert!(metrics.exported > 0);
    assert_eq!(metrics.exported, metrics.accepted);
    let store = agentrace_sqlite::SqliteStore::open(dir.path().join("agentrace.db"))?;
    assert_eq!(store.count(RecordKind::Spans)?, 50);
    Ok(())
}
