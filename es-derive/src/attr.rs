//! Parsing of `#[event(...)]` attributes, with every key's span kept for error messages.

use proc_macro2::Span;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Fields, LitInt, LitStr, Path, Token};

use crate::ctxt::Ctxt;
use crate::symbol::{
    ALIAS, CRATE, ENUM_KEYS, EVENT, FROM, NAME, RAW_UPCAST, RAW_UPCAST_KEYS, READ_NEWER, REMOVED,
    SCHEMA, STRUCT_KEYS, TRY_UPCAST, UPCAST_FROM, VERSION, WITH, WITH_REF, WRITE_AS,
};
use crate::value::{
    lit_int, lit_str, non_empty, parse_version, path_value, required_value, skip_value,
    string_value, version_value,
};

const RAW_UPCAST_EXAMPLE: &str = "raw_upcast(from = (\"OldTag\", 1), with = path::to::function)";
const REMOVED_EXAMPLE: &str = "removed(\"OldTag\", (\"OtherTag\", 2))";

/// Where an attribute was written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Struct,
    Enum,
    Variant,
}

impl Target {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Target::Struct => STRUCT_KEYS,
            Target::Enum => ENUM_KEYS,
            Target::Variant => &[],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Target::Struct => "a version struct",
            Target::Enum => "an event enum",
            Target::Variant => "an enum variant",
        }
    }
}

/// A value with the span of the key that set it.
pub struct Spanned<T> {
    pub value: T,
    pub key_span: Span,
}

/// One attribute key that may be set once.
struct Once<T> {
    key: &'static str,
    value: Option<Spanned<T>>,
}

impl<T> Once<T> {
    fn new(key: &'static str) -> Self {
        Once { key, value: None }
    }

    fn set(&mut self, cx: &Ctxt, key_span: Span, value: T) {
        if self.value.is_some() {
            cx.syn_error(syn::Error::new(
                key_span,
                format!("`{}` is set twice; keep one", self.key),
            ));
        } else {
            self.value = Some(Spanned { value, key_span });
        }
    }
}

/// The attributes of a version struct.
pub struct StructAttrs {
    /// `name = "..."`: the stored name of the event type, when not the struct's own.
    pub event_type: Option<Spanned<LitStr>>,
    pub version: Option<Spanned<(u32, LitInt)>>,
    pub upcast_from: Option<Spanned<Path>>,
    pub try_upcast: Option<Spanned<()>>,
    /// `write_as = Previous`: written as the version it upcasts from, through
    /// `From<Self> for Previous` (the first step of a rolling deploy).
    pub write_as: Option<Spanned<Path>>,
    /// `read_newer`: as the latest version, also decodes newer versions of its tag that fit.
    pub read_newer: Option<Spanned<()>>,
    pub aliases: Vec<LitStr>,
    pub krate: Option<Path>,
}

/// The attributes of an event enum.
pub struct EnumAttrs {
    pub krate: Option<Path>,
    pub removed: Vec<Removed>,
    pub raw_upcasts: Vec<RawUpcast>,
}

/// A stored `("EventType", version)` written in an attribute.
pub struct StoredVersion {
    pub event_type: LitStr,
    pub version: u32,
    /// The whole tuple, for spans.
    pub node: Expr,
}

/// One entry of `removed(...)`: an event type (every version) or an `("EventType", version)` pair.
pub struct Removed {
    pub event_type: LitStr,
    pub version: Option<u32>,
    /// The entry as written, for spans.
    pub node: Expr,
}

/// One `raw_upcast(from = ("EventType", n), with = path, schema = Type)`, or `with_ref = path`
/// in place of `with`.
pub struct RawUpcast {
    pub from: StoredVersion,
    pub with: Path,
    /// Written `with_ref`: the upcaster is an `es_core::RawRefUpcaster`, lent the stored event.
    pub lent: bool,
    pub schema: Option<Path>,
}

/// Every key found, before they are sorted into the target's attribute set.
struct Collected {
    event_type: Once<LitStr>,
    version: Once<(u32, LitInt)>,
    upcast_from: Once<Path>,
    try_upcast: Once<()>,
    write_as: Once<Path>,
    read_newer: Once<()>,
    aliases: Vec<LitStr>,
    krate: Once<Path>,
    removed: Vec<Removed>,
    raw_upcasts: Vec<RawUpcast>,
}

pub fn parse_struct(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let c = collect(cx, attrs, Target::Struct);
    StructAttrs {
        event_type: c.event_type.value,
        version: c.version.value,
        upcast_from: c.upcast_from.value,
        try_upcast: c.try_upcast.value,
        write_as: c.write_as.value,
        read_newer: c.read_newer.value,
        aliases: c.aliases,
        krate: c.krate.value.map(|s| s.value),
    }
}

pub fn parse_enum(cx: &Ctxt, attrs: &[Attribute]) -> EnumAttrs {
    let c = collect(cx, attrs, Target::Enum);
    EnumAttrs {
        krate: c.krate.value.map(|s| s.value),
        removed: c.removed,
        raw_upcasts: c.raw_upcasts,
    }
}

pub fn parse_variant(cx: &Ctxt, attrs: &[Attribute]) {
    collect(cx, attrs, Target::Variant);
}

/// `event` attributes are not read on fields: say so rather than ignore them.
pub fn reject_on_fields(cx: &Ctxt, fields: &Fields) {
    for attr in fields
        .iter()
        .flat_map(|field| &field.attrs)
        .filter(|a| a.path().is_ident(EVENT))
    {
        cx.error_spanned_by(
            attr.path(),
            "`event` attributes belong on the version struct or the event enum, not on a field",
        );
    }
}

fn collect(cx: &Ctxt, attrs: &[Attribute], target: Target) -> Collected {
    let mut c = Collected {
        event_type: Once::new(NAME),
        version: Once::new(VERSION),
        upcast_from: Once::new(UPCAST_FROM),
        try_upcast: Once::new(TRY_UPCAST),
        write_as: Once::new(WRITE_AS),
        read_newer: Once::new(READ_NEWER),
        aliases: Vec::new(),
        krate: Once::new(CRATE),
        removed: Vec::new(),
        raw_upcasts: Vec::new(),
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident(EVENT)) {
        let result = attr.parse_nested_meta(|meta| {
            parse_key(cx, &meta, target, &mut c)?;
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    c
}

fn parse_key(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    target: Target,
    c: &mut Collected,
) -> syn::Result<()> {
    let Some(ident) = meta.path.get_ident() else {
        cx.error_spanned_by(&meta.path, "expected an `event` attribute key");
        return skip_value(meta);
    };
    let (key, key_span) = (ident.to_string(), ident.span());
    if !target.keys().contains(&key.as_str()) {
        cx.syn_error(syn::Error::new(key_span, misplaced_key(&key, target)));
        return skip_value(meta);
    }
    match key.as_str() {
        NAME => {
            if let Some(lit) = string_value(cx, meta, NAME, "name = \"AccountOpened\"")? {
                non_empty(cx, &lit, "an event name must not be empty");
                c.event_type.set(cx, key_span, lit);
            }
        }
        ALIAS => {
            if let Some(lit) = string_value(cx, meta, ALIAS, "alias = \"OldName\"")? {
                if let Some(earlier) = c.aliases.iter().find(|a| a.value() == lit.value()) {
                    cx.error_spanned_by(&lit, format!("duplicate alias `{}`", earlier.value()));
                } else if non_empty(cx, &lit, "an alias must not be empty") {
                    c.aliases.push(lit);
                }
            }
        }
        VERSION => {
            if let Some(value) = version_value(cx, meta)? {
                c.version.set(cx, key_span, value);
            }
        }
        UPCAST_FROM => {
            let example = "upcast_from = AccountOpenedV1";
            if let Some(path) = path_value(cx, meta, UPCAST_FROM, example)? {
                c.upcast_from.set(cx, key_span, path);
            }
        }
        TRY_UPCAST => {
            if flag(cx, meta, TRY_UPCAST)? {
                c.try_upcast.set(cx, key_span, ());
            }
        }
        READ_NEWER => {
            if flag(cx, meta, READ_NEWER)? {
                c.read_newer.set(cx, key_span, ());
            }
        }
        WRITE_AS => {
            let example = "write_as = FundsDepositedV2";
            if let Some(path) = path_value(cx, meta, WRITE_AS, example)? {
                c.write_as.set(cx, key_span, path);
            }
        }
        CRATE => {
            if let Some(lit) = string_value(cx, meta, CRATE, "crate = \"my_es\"")? {
                match lit.parse::<Path>() {
                    Ok(path) => c.krate.set(cx, key_span, path),
                    Err(_) => cx.error_spanned_by(
                        &lit,
                        "`crate` must name a path, e.g. `crate = \"my_es\"`",
                    ),
                }
            }
        }
        REMOVED => parse_removed(cx, meta, &mut c.removed)?,
        RAW_UPCAST => {
            if let Some(raw) = parse_raw_upcast(cx, meta, key_span)? {
                c.raw_upcasts.push(raw);
            }
        }
        _ => unreachable!("every key of STRUCT_KEYS and ENUM_KEYS is matched"),
    }
    Ok(())
}

/// Whether a flag key stands alone, as it must; a value after it is reported and skipped.
fn flag(cx: &Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<bool> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(&meta.path, format!("`{key}` is a flag and takes no value"));
        skip_value(meta)?;
        Ok(false)
    } else {
        Ok(true)
    }
}

/// `removed("EventType", ("Other", 2), ...)`.
fn parse_removed(cx: &Ctxt, meta: &ParseNestedMeta<'_>, out: &mut Vec<Removed>) -> syn::Result<()> {
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format!("`removed` takes a list of tags: `{REMOVED_EXAMPLE}`"),
        );
        return skip_value(meta);
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let entries = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
    if entries.is_empty() {
        cx.error_spanned_by(
            &meta.path,
            format!("`removed` lists at least one tag: `{REMOVED_EXAMPLE}`"),
        );
    }
    for entry in entries {
        if let Some(event_type) = lit_str(&entry) {
            if non_empty(cx, event_type, EMPTY_EVENT_TYPE) {
                out.push(Removed {
                    event_type: event_type.clone(),
                    version: None,
                    node: entry,
                });
            }
        } else if let Expr::Tuple(_) = &entry {
            if let Some(stored) = stored_version(cx, entry, REMOVED_EXAMPLE) {
                out.push(Removed {
                    event_type: stored.event_type,
                    version: Some(stored.version),
                    node: stored.node,
                });
            }
        } else {
            cx.error_spanned_by(
                &entry,
                format!(
                    "`removed` lists tags, `\"OldTag\"` (every version), or tag and version pairs, `(\"OldTag\", 2)`: `{REMOVED_EXAMPLE}`"
                ),
            );
        }
    }
    Ok(())
}

/// `raw_upcast(from = ("EventType", n), with = path, schema = Type)`; `None` when a part is missing or
/// wrong (errors recorded).
fn parse_raw_upcast(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key_span: Span,
) -> syn::Result<Option<RawUpcast>> {
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format!("`raw_upcast` takes its parts in parentheses: `{RAW_UPCAST_EXAMPLE}`"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let mut from = Once::new(FROM);
    // `with` or `with_ref`: one function, either form.
    let mut with = Once::new(WITH);
    let mut lent = false;
    let mut schema = Once::new(SCHEMA);
    // A key whose value was wrong is reported there, not again as missing.
    let (mut from_written, mut with_written) = (false, false);
    meta.parse_nested_meta(|inner| {
        let ident = inner.path.get_ident();
        let inner_span = ident.map_or_else(Span::call_site, syn::Ident::span);
        match ident.map(ToString::to_string).as_deref() {
            Some(FROM) => {
                from_written = true;
                let example = "from = (\"OldTag\", 1)";
                if let Some(expr) = required_value(cx, &inner, FROM, example)? {
                    if let Some(stored) = stored_version(cx, expr, example) {
                        from.set(cx, inner_span, stored);
                    }
                }
            }
            Some(key @ (WITH | WITH_REF)) => {
                // The same key twice is reported by `with.set`, as any key written twice.
                if with_written && lent != (key == WITH_REF) {
                    cx.error_spanned_by(
                        &inner.path,
                        "`raw_upcast` takes one function: `with = path` (an `es_core::RawUpcaster`) or `with_ref = path` (an `es_core::RawRefUpcaster`), not both",
                    );
                    skip_value(&inner)?;
                    return Ok(());
                }
                with_written = true;
                lent = key == WITH_REF;
                with.key = if lent { WITH_REF } else { WITH };
                let example = format!("{key} = path::to::function");
                if let Some(path) = path_value(cx, &inner, key, &example)? {
                    with.set(cx, inner_span, path);
                }
            }
            Some(SCHEMA) => {
                if let Some(path) = path_value(cx, &inner, SCHEMA, "schema = OldTagV1")? {
                    schema.set(cx, inner_span, path);
                }
            }
            _ => {
                cx.error_spanned_by(
                    &inner.path,
                    format!(
                        "unknown `raw_upcast` key `{}`; expected one of {}",
                        inner.path.to_token_stream().to_string().replace(' ', ""),
                        list(RAW_UPCAST_KEYS)
                    ),
                );
                skip_value(&inner)?;
            }
        }
        Ok(())
    })?;
    if from.value.is_none() && !from_written {
        cx.syn_error(syn::Error::new(
            key_span,
            "`raw_upcast` needs `from = (\"OldTag\", 1)`: the stored tag and version it rewrites",
        ));
    }
    if with.value.is_none() && !with_written {
        cx.syn_error(syn::Error::new(
            key_span,
            "`raw_upcast` needs `with = path::to::function`: the function that rewrites the stored event, an `es_core::RawUpcaster` (or `with_ref = path::to::function`, an `es_core::RawRefUpcaster`)",
        ));
    }
    Ok(match (from.value, with.value) {
        (Some(from), Some(with)) => Some(RawUpcast {
            from: from.value,
            with: with.value,
            lent,
            schema: schema.value.map(|s| s.value),
        }),
        _ => None,
    })
}

/// An `("EventType", version)` tuple with a non-empty event type and a version from 1.
fn stored_version(cx: &Ctxt, expr: Expr, example: &str) -> Option<StoredVersion> {
    let parts = match &expr {
        Expr::Tuple(tuple) if tuple.elems.len() == 2 => {
            lit_str(&tuple.elems[0]).zip(lit_int(&tuple.elems[1]))
        }
        _ => None,
    };
    let Some((event_type, version)) = parts else {
        cx.error_spanned_by(
            &expr,
            format!("expected a stored tag and version, a string and an integer: `{example}`"),
        );
        return None;
    };
    let version = parse_version(cx, version)?;
    if !non_empty(cx, event_type, EMPTY_EVENT_TYPE) {
        return None;
    }
    Some(StoredVersion {
        event_type: event_type.clone(),
        version,
        node: expr,
    })
}

const EMPTY_EVENT_TYPE: &str = "a tag must not be empty";

/// Why `key` is not accepted on `target`: unknown, or belonging elsewhere.
fn misplaced_key(key: &str, target: Target) -> String {
    let known = STRUCT_KEYS.contains(&key) || ENUM_KEYS.contains(&key);
    if known {
        format!(
            "`{key}` belongs on {}, not on {}",
            owner_of(key),
            target.describe()
        )
    } else if target.keys().is_empty() {
        format!(
            "unknown `event` attribute `{key}`: {} takes no `event` attributes",
            target.describe()
        )
    } else {
        format!(
            "unknown `event` attribute `{key}`; expected one of {}",
            list(target.keys())
        )
    }
}

fn owner_of(key: &str) -> &'static str {
    match (STRUCT_KEYS.contains(&key), ENUM_KEYS.contains(&key)) {
        (true, true) => "a version struct or an event enum",
        (false, true) => Target::Enum.describe(),
        _ => Target::Struct.describe(),
    }
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
