//! `agentrace probe URL`: a container's health check without curl in the image — a GET of
//! `URL` (a server's `/healthz` or `/readyz`), exit 0 on a 2xx answer within 2 s, else 1 with
//! the answer or the error on stderr.

use std::time::Duration;

use crate::args::ProbeArgs;
use crate::error::CliError;

pub(crate) fn run(args: &ProbeArgs) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| CliError::Server(e.to_string()))?;
        let answer = client
            .get(&args.url)
            .send()
            .await
            .map_err(|e| CliError::Server(format!("{}: {e}", args.url)))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let body = answer.text().await.unwrap_or_default();
        Err(CliError::Server(format!("{}: {status} {body}", args.url)))
    })
}
