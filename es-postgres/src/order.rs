//! Gap-safe global order: which of the events read may be handed out without ever letting a
//! later commit land behind a reader.
//!
//! Appends take consecutive positions from a sequence, but commit in their own time: the
//! append holding position 7 may commit after the one holding 8. A reader that saw 8 and moved
//! its checkpoint past 7 would never see 7. So a reader hands out events only while every
//! position before them is settled: present, or missing for good.
//!
//! A missing position `p` is missing for good once the transaction that took it has ended
//! (it rolled back, or failed). Every append takes its transaction id *before* its positions,
//! and records as `horizon` the first transaction id not yet assigned *after* taking them. The
//! writer of `p` took `p` before the writer of any visible `q > p` took `q`, so its id is below
//! `horizon(q)`. When the oldest transaction still running (`xmin` of the reader's snapshot) is
//! at or past `horizon(q)`, every transaction below it has ended: the gap before `q` is settled.
//! Otherwise the reader stops before the gap and looks again later; it never skips on a timer.

/// What a reader needs of one row to decide: its position and its batch's horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
    pub(crate) position: u64,
    pub(crate) horizon: u64,
}

/// How many of `rows` (in position order, read in one snapshot whose oldest running
/// transaction is `xmin`) may be handed out by a reader whose last position is `before`.
pub(crate) fn settled_prefix(
    before: u64,
    rows: impl IntoIterator<Item = Placed>,
    xmin: u64,
) -> usize {
    let mut last = before;
    let mut count = 0;
    for row in rows {
        let gap = row.position != last + 1;
        if gap && xmin < row.horizon {
            break;
        }
        last = row.position;
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[(u64, u64)]) -> Vec<Placed> {
        spec.iter()
            .map(|&(position, horizon)| Placed { position, horizon })
            .collect()
    }

    #[test]
    fn consecutive_positions_are_settled_whatever_the_horizon() {
        assert_eq!(settled_prefix(0, rows(&[(1, 90), (2, 95), (3, 99)]), 10), 3);
        assert_eq!(settled_prefix(41, rows(&[(42, 90)]), 10), 1);
    }

    #[test]
    fn a_gap_stops_the_reader_while_an_older_transaction_runs() {
        // Position 2 is missing; the writer of 3 took its positions when id 50 was next, and
        // transaction 40 is still running: it may be the one holding 2.
        assert_eq!(settled_prefix(0, rows(&[(1, 45), (3, 50), (4, 50)]), 40), 1);
    }

    #[test]
    fn a_gap_is_settled_once_every_older_transaction_ended() {
        assert_eq!(settled_prefix(0, rows(&[(1, 45), (3, 50), (4, 50)]), 50), 3);
        assert_eq!(settled_prefix(0, rows(&[(1, 45), (3, 50), (4, 50)]), 70), 3);
    }

    #[test]
    fn a_gap_before_the_first_row_read_counts_too() {
        assert_eq!(settled_prefix(10, rows(&[(12, 50)]), 49), 0);
        assert_eq!(settled_prefix(10, rows(&[(12, 50)]), 50), 1);
    }

    #[test]
    fn nothing_read_is_nothing_settled() {
        assert_eq!(settled_prefix(3, rows(&[]), 0), 0);
    }
}
