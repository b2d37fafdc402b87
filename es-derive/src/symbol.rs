//! The keys of `#[event(...)]`, each named once, and which of them each item takes.

pub const EVENT: &str = "event";
pub const NAME: &str = "name";
pub const VERSION: &str = "version";
pub const UPCAST_FROM: &str = "upcast_from";
pub const TRY_UPCAST: &str = "try_upcast";
pub const ALIAS: &str = "alias";
pub const WRITE_AS: &str = "write_as";
pub const READ_NEWER: &str = "read_newer";
pub const CRATE: &str = "crate";
pub const REMOVED: &str = "removed";
pub const RAW_UPCAST: &str = "raw_upcast";
pub const FROM: &str = "from";
pub const WITH: &str = "with";
pub const WITH_REF: &str = "with_ref";
pub const SCHEMA: &str = "schema";

/// The keys of a version struct.
pub const STRUCT_KEYS: &[&str] = &[
    NAME,
    VERSION,
    UPCAST_FROM,
    TRY_UPCAST,
    WRITE_AS,
    READ_NEWER,
    ALIAS,
    CRATE,
];
/// The keys of an event enum.
pub const ENUM_KEYS: &[&str] = &[REMOVED, RAW_UPCAST, CRATE];
/// The keys inside `raw_upcast(...)`.
pub const RAW_UPCAST_KEYS: &[&str] = &[FROM, WITH, WITH_REF, SCHEMA];
