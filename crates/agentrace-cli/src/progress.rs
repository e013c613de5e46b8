//! Progress of long work (export, repricing, a price import, a report) on standard error — a bar when
//! the total is known, a spinner otherwise — shown only when standard error is a terminal, so
//! that piped and scripted runs stay quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar or spinner; a no-op off a terminal.
#[derive(Debug)]
pub(crate) struct Progress(ProgressBar);

impl Progress {
    /// Progress over `total` items (a spinner when unknown), labelled `label`.
    pub(crate) fn new(label: &str, total: Option<u64>) -> Self {
        Self::to(label, total, std::io::stderr().is_terminal())
    }

    fn to(label: &str, total: Option<u64>, visible: bool) -> Self {
        let bar = match total {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} ({elapsed}, {eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.set_message(label.to_owned());
        bar.set_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        if total.is_none() {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Self(bar)
    }

    /// `n` more items done; a total found too small grows.
    pub(crate) fn advance(&self, n: u64) {
        let done = self.0.position() + n;
        if let Some(len) = self.0.length()
            && done > len
        {
            self.0.set_length(done);
        }
        self.0.set_position(done);
    }

    /// Changes the label (what is being done now).
    pub(crate) fn say(&self, label: &str) {
        self.0.set_message(label.to_owned());
    }

    /// Shows `done` of `total` (a total that is still growing).
    pub(crate) fn show(&self, done: u64, total: u64) {
        self.0.set_length(total.max(done));
        self.0.set_position(done);
    }

    /// Removes the bar (the command prints its own summary).
    pub(crate) fn finish(self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_found_too_small_grows_and_hidden_bars_still_count() {
        let p = Progress::to("export", Some(10), false);
        p.advance(7);
        p.advance(7);
        assert_eq!((p.0.position(), p.0.length()), (14, Some(14)));
        p.finish();
    }
}
