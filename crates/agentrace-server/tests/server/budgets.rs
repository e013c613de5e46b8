//! The budgets file reloaded while the server runs: unchanged budgets keep their spend, new
//! ones get theirs from the store, a broken file changes nothing.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Result, TestServer, api_in, llm_traces};

async fn accounts(t: &TestServer) -> Result<Vec<(String, f64, f64)>> {
    let answer: Value = reqwest::get(t.app_url("/api/v1/budgets"))
        .await?
        .json()
        .await?;
    Ok(answer["budgets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            (
                b["budget"].as_str().unwrap_or_default().to_owned(),
                b["spent"].as_f64().unwrap_or(f64::NAN),
                b["limit"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_budgets_file_is_reloaded_without_losing_spend() -> Result {
    let config = tempfile::tempdir()?;
    let file = config.path().join("budgets.toml");
    let per_session = "[[budget]]\nname = \"per session\"\nscope = \"session\"\nperiod = \"day\"\nlimit_usd = 1.0\n";
    std::fs::write(&file, per_session)?;
    let t = TestServer::start(|c| c.budgets = Some(file.clone())).await?;
    t.export(&llm_traces(1, 2)).await?;
    let before = accounts(&t).await?;
    assert_eq!(before.len(), 1, "{before:?}");
    let spent = before[0].1;
    assert!(spent > 0.0, "the calls are priced: {before:?}");

    // A higher limit, and a new global budget.
    std::fs::write(
        &file,
        format!(
            "{}\n[[budget]]\nname = \"everything\"\nscope = \"global\"\nperiod = \"day\"\nlimit_usd = 50.0\n",
            per_session.replace("limit_usd = 1.0", "limit_usd = 3.0")
        ),
    )?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let now = accounts(&t).await?;
        if now.len() == 2 {
            break now;
        }
        assert!(Instant::now() < deadline, "not reloaded: {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let find = |name: &str| after.iter().find(|a| a.0 == name).cloned();
    assert_eq!(
        find("per session"),
        Some(("per session".to_owned(), spent, 3.0)),
        "kept, new limit"
    );
    assert_eq!(
        find("everything"),
        Some(("everything".to_owned(), spent, 50.0)),
        "rebuilt from the store"
    );

    // The reload is in the audit log: by the server, the budgets before and after.
    let (status, audit) = api_in(
        &t.app_url(""),
        reqwest::Method::GET,
        "/audit?action=budgets.reload",
        "default",
        None,
    )
    .await?;
    assert_eq!(status, 200, "{audit}");
    let entry = &audit["entries"][0];
    assert_eq!(
        (&entry["actor"]["kind"], &entry["project"]),
        (&serde_json::json!("server"), &serde_json::json!("default")),
        "{audit}"
    );
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    assert!(
        !text(&entry["before"]).contains("everything")
            && text(&entry["after"]).contains("everything"),
        "{entry}"
    );

    // A broken file: the budgets in force stay.
    std::fs::write(&file, "[[budget]]\nname = ")?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(accounts(&t).await?, after);
    Ok(())
}
