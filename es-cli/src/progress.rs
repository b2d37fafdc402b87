//! Progress bars on standard error, hidden when it is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting events towards `total`, or a hidden one.
pub fn events(show: bool, total: u64, what: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>9} [{bar:30}] {human_pos}/{human_len} events ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}
