//! The one table the harness prints: each figure beside its peer, the ratio, the target.

use std::fmt::Write;

/// One measured figure with its label.
#[derive(Debug, Clone)]
pub struct Figure {
    pub label: String,
    pub value: f64,
    pub unit: &'static str,
}

impl Figure {
    pub fn new(label: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            label: label.into(),
            value,
            unit,
        }
    }

    fn render(&self) -> String {
        let value = self.value;
        let number = if value >= 100.0 {
            format!("{value:.0}")
        } else if value >= 1.0 {
            format!("{value:.2}")
        } else {
            format!("{value:.4}")
        };
        format!("{}: {number} {}", self.label, self.unit)
    }
}

/// What a row's checked figure must be.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn is_met_by(self, value: f64) -> bool {
        match self {
            Target::AtLeast(t) => value >= t,
            Target::AtMost(t) => value <= t,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub what: String,
    pub ours: Figure,
    pub peer: Option<Figure>,
    /// The compared figure (a ratio, an overhead or a value) as printed.
    pub checked: String,
    /// The target, and whether `checked` meets it.
    pub target: Option<(Target, bool)>,
}

impl Row {
    /// A row comparing `ours` with `peer` by `ours / peer`.
    pub fn ratio(what: &str, ours: Figure, peer: Figure, target: Option<Target>) -> Self {
        let ratio = ours.value / peer.value;
        Self {
            what: what.to_owned(),
            checked: format!("{ratio:.2}×"),
            target: target.map(|t| (t, t.is_met_by(ratio))),
            ours,
            peer: Some(peer),
        }
    }

    /// A row comparing throughputs by the slowdown of `ours` against `peer`, as a percentage
    /// (`peer / ours - 1`; lower is better).
    pub fn overhead(what: &str, ours: Figure, peer: Figure, at_most: Option<f64>) -> Self {
        let overhead = peer.value / ours.value - 1.0;
        Self {
            what: what.to_owned(),
            checked: format!("{:+.1} %", overhead * 100.0),
            target: at_most.map(|t| (Target::AtMost(t), overhead <= t)),
            ours,
            peer: Some(peer),
        }
    }

    /// A row with one figure, checked against a limit on its own value.
    pub fn single(what: &str, ours: Figure, at_most: Option<f64>) -> Self {
        let value = ours.value;
        Self {
            what: what.to_owned(),
            checked: format!("{value:.3} {}", ours.unit),
            target: at_most.map(|t| (Target::AtMost(t), value <= t)),
            ours,
            peer: None,
        }
    }
}

/// The target as text, in the unit of the checked figure (whatever follows its number).
fn target_text(target: Option<(Target, bool)>, checked: &str) -> (String, &'static str) {
    let Some((target, met)) = target else {
        return ("—".to_owned(), "—");
    };
    let verdict = if met { "met" } else { "MISSED" };
    let suffix = checked.trim_start_matches(|c: char| "+-.0123456789".contains(c));
    let text = match target {
        Target::AtLeast(t) => format!("≥ {t}{suffix}"),
        Target::AtMost(t) if suffix.ends_with('%') => format!("≤ {:+.0}{suffix}", t * 100.0),
        Target::AtMost(t) => format!("≤ {t}{suffix}"),
    };
    (text, verdict)
}

/// The table as Markdown.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| measurement | es-core | peer | ratio / figure | target | met |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for row in rows {
        let (target, met) = target_text(row.target, &row.checked);
        let peer = row.peer.as_ref().map_or("—".to_owned(), Figure::render);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.what,
            row.ours.render(),
            peer,
            row.checked,
            target,
            met
        );
    }
    out
}
