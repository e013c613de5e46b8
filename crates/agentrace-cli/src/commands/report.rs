//! `agentrace report`: a running server's report of a period (`GET /api/v1/report`), written
//! to a file as a self-contained HTML page, Markdown or JSON. The sections are asked for one
//! at a time — a bar shows the progress on a long range — and rendered here by the server's
//! own renderers, so the file says what the API says.

use agentrace_core::civil::{Precision, rfc3339};
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use agentrace_server::jobs::report::{Report, Section, html, markdown};

use crate::args::{ReportArgs, ReportFormat};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::progress::Progress;
use crate::time::{self, unix_nano};

/// How long one section may take on the server (a year's report reads a year).
const SECTION_TIMEOUT: Duration = Duration::from_secs(600);

/// The period when none is given: the last 7 days.
const DEFAULT_PERIOD: Duration = Duration::from_secs(7 * 86_400);

pub(crate) fn run(args: &ReportArgs, project: Option<&str>) -> Result<(), CliError> {
    let now = SystemTime::now();
    let range = time::range(&args.range, now)?;
    let to = range.end_unix_nano.unwrap_or_else(|| unix_nano(now));
    let from = range.start_unix_nano.unwrap_or_else(|| {
        to.saturating_sub(u64::try_from(DEFAULT_PERIOD.as_nanos()).unwrap_or(0))
    });
    let client = ApiClient::new(&args.server, project)?.timeout(SECTION_TIMEOUT);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(gather(&client, from, to))?;
    let format = args
        .format
        .unwrap_or_else(|| ReportFormat::of(&args.output));
    let base = args.server.server.trim_end_matches('/');
    let text = match format {
        ReportFormat::Html => html::render(&report, base),
        ReportFormat::Markdown => markdown::render(&report, base),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    if args.output == Path::new("-") {
        std::io::stdout().lock().write_all(text.as_bytes())?;
    } else {
        std::fs::write(&args.output, text)?;
        eprintln!(
            "the report of {} → {} is in {}",
            rfc3339(from, Precision::Seconds),
            rfc3339(to, Precision::Seconds),
            args.output.display()
        );
    }
    Ok(())
}

/// Every section of the report of `from..to`, one request each.
async fn gather(client: &ApiClient, from: u64, to: u64) -> Result<Report, CliError> {
    let progress = Progress::new("report", Some(Section::ALL.len() as u64));
    let mut report: Option<Report> = None;
    for section in Section::ALL {
        progress.say(&format!("report: {}", section.name()));
        let answer = client
            .get(&format!(
                "/report?from={from}&to={to}&section={}",
                section.name()
            ))
            .await?;
        let part: Report = serde_json::from_value(answer)?;
        match &mut report {
            Some(r) => r.merge(part),
            None => report = Some(part),
        }
        progress.advance(1);
    }
    progress.finish();
    report.ok_or_else(|| CliError::Server("the report has no section".into()))
}
