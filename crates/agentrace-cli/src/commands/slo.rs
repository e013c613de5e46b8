//! `agentrace slo export` and `agentrace slo import`: the alerts file's SLOs in the OpenSLO v1
//! form, and back (`agentrace_alerts::openslo`; docs/slos.md, "OpenSLO"). What OpenSLO says and
//! agentrace cannot honour is named on standard error, one line each.

use agentrace_alerts::openslo;

use crate::args::{SloExportArgs, SloImportArgs};
use crate::error::CliError;

pub(crate) fn export(args: &SloExportArgs) -> Result<(), CliError> {
    let slos = agentrace_alerts::load_alerts(&args.alerts)?.slos;
    if slos.is_empty() {
        eprintln!(
            "agentrace: {} defines no SLOs ([[slos]])",
            args.alerts.display()
        );
    }
    let yaml = openslo::export(&slos).map_err(|e| CliError::Usage(e.to_string()))?;
    super::write_text(&args.output, &yaml)
}

pub(crate) fn import(args: &SloImportArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.file)?;
    let imported = openslo::import(&text)
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.file.display())))?;
    for note in &imported.notes {
        eprintln!("agentrace: {note}");
    }
    if imported.slos.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: no SLO agentrace can judge (see above)",
            args.file.display()
        )));
    }
    let toml = openslo::alerts_toml(&imported.slos).map_err(|e| CliError::Usage(e.to_string()))?;
    super::write_text(
        &args.output,
        &format!(
            "# From {} (OpenSLO) by `agentrace slo import`: add these to the alerts file.\n\n{toml}",
            args.file.display()
        ),
    )
}
