//! Gap-safe global order: which of the events read may be handed out without ever letting a
//! later commit land behind a reader.
//!
//! Appends take consecutive positions from a sequence, but commit in their own time: the
//! append holding position 7 may commit after the one holding 8. A reader that saw 8 and moved
//! its checkpoint past 7 would never see 7. So a reader hands out events only while every
//! position before them is settled: present, or missing for good.
//!
//! A missing position `p` is missing for good once the transaction that took it has ended
//! (it rolled back, or failed). Every append takes its transaction id and its block of
//! positions together, under one short lock, so transaction ids grow with positions: the
//! writer of `p` has a lower id than the writer of any `q > p`, recorded with `q` as
//! `writer_xid`. When the oldest transaction still running (`xmin` of the reader's snapshot)
//! is at or past `writer_xid(q)`, every transaction below it has ended, the writer of `p`
//! included: the gap before `q` is settled. Otherwise the reader stops before the gap and
//! looks again later; it never skips on a timer.

/// What a reader needs of one row to decide: its position and its writer's transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
    pub(crate) position: u64,
    pub(crate) writer_xid: u64,
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
        if gap && xmin < row.writer_xid {
            break;
        }
        last = row.position;
        count += 1;
    }
    count
}

/// Where the settled part of the log ends, judged from the last rows of the log read in one
/// snapshot (`rows` descending by position, `xmin` the snapshot's oldest running transaction):
/// `Some(head)`, or `None` when the rows read do not reach down to a settled point and the
/// rows below must be read too. `complete` says `rows` reach the start of the log.
pub(crate) fn settled_head(rows: &[Placed], xmin: u64, complete: bool) -> Option<u64> {
    let Some(top) = rows.first() else {
        return complete.then_some(0);
    };
    // Going down from the top, the head is just below the lowest unsettled gap.
    let mut head = top.position;
    for pair in rows.windows(2) {
        let (above, below) = (pair[0], pair[1]);
        if above.position != below.position + 1 && xmin < above.writer_xid {
            head = below.position;
        }
    }
    let lowest = rows[rows.len() - 1];
    if xmin >= lowest.writer_xid || (complete && lowest.position == 1) {
        Some(head)
    } else if complete {
        // Positions below the lowest row are missing, and their writers may still run.
        Some(0)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[(u64, u64)]) -> Vec<Placed> {
        spec.iter()
            .map(|&(position, writer_xid)| Placed {
                position,
                writer_xid,
            })
            .collect()
    }

    #[test]
    fn consecutive_positions_are_settled_whatever_the_writer_xid() {
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

    fn descending(spec: &[(u64, u64)]) -> Vec<Placed> {
        let mut rows = rows(spec);
        rows.reverse();
        rows
    }

    #[test]
    fn the_head_is_the_top_when_no_gap_is_open() {
        let log = descending(&[(1, 10), (2, 10), (4, 20), (5, 30)]);
        assert_eq!(settled_head(&log, 30, true), Some(5));
        assert_eq!(settled_head(&log, 30, false), Some(5));
    }

    #[test]
    fn the_head_stops_below_the_lowest_open_gap() {
        // 3 and 6 are missing; transaction 15 still runs, so both gaps may still fill.
        let log = descending(&[(1, 10), (2, 10), (4, 20), (5, 30), (7, 40)]);
        assert_eq!(settled_head(&log, 15, true), Some(2));
        // Once 15 ended, only the gap below 7 (writer_xid 40) is open.
        assert_eq!(settled_head(&log, 35, true), Some(5));
    }

    #[test]
    fn rows_that_do_not_reach_a_settled_point_ask_for_more() {
        let top = descending(&[(50, 90), (51, 90)]);
        assert_eq!(settled_head(&top, 80, false), None);
        assert_eq!(settled_head(&top, 80, true), Some(0));
        assert_eq!(settled_head(&top, 90, false), Some(51));
    }

    #[test]
    fn an_empty_log_has_head_zero() {
        assert_eq!(settled_head(&[], 5, true), Some(0));
        assert_eq!(settled_head(&[], 5, false), None);
    }

    #[test]
    fn nothing_read_is_nothing_settled() {
        assert_eq!(settled_prefix(3, rows(&[]), 0), 0);
    }
}
