//! Workspace-level tests live in this package's `tests` targets; see README.md.
