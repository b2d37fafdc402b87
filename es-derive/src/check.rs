//! Checks that span several attributes or variants. Checks that need facts the macro cannot
//! see (the versions and stored names of event types defined elsewhere) are `const` assertions in the
//! expansion instead.

use quote::ToTokens;

use crate::ast::{EventEnum, Input, VersionStruct};
use crate::attr::{Removed, StoredVersion};
use crate::ctxt::Ctxt;

pub fn check(cx: &Ctxt, input: &Input<'_>) {
    match input {
        Input::Struct(s) => check_struct(cx, s),
        Input::Enum(e) => check_enum(cx, e),
    }
}

fn check_struct(cx: &Ctxt, s: &VersionStruct<'_>) {
    if let (Some(flag), None) = (&s.attrs.try_upcast, &s.attrs.upcast_from) {
        cx.syn_error(syn::Error::new(
            flag.key_span,
            "`try_upcast` needs `upcast_from`: it makes the upcast from the previous version use `TryFrom`",
        ));
    }
    if let (Some(write_as), None) = (&s.attrs.write_as, &s.attrs.upcast_from) {
        cx.syn_error(syn::Error::new(
            write_as.key_span,
            "`write_as` needs `upcast_from`: it writes this version as the one it upcasts from, through `From<Self>` for that version",
        ));
    }
    if let (Some(from), None) = (&s.attrs.upcast_from, &s.attrs.version) {
        cx.syn_error(syn::Error::new(
            from.key_span,
            "a struct with `upcast_from` needs an explicit `version`, greater than the previous version's",
        ));
    }
    let event_type = &s.event_type;
    for alias in s.attrs.aliases.iter().filter(|a| a.value() == *event_type) {
        cx.error_spanned_by(
            alias,
            format!(
                "alias `{event_type}` is the event's own name; an alias is an extra, older tag"
            ),
        );
    }
}

fn check_enum(cx: &Ctxt, e: &EventEnum<'_>) {
    for (i, variant) in e.variants.iter().enumerate() {
        let ty = variant.ty.to_token_stream().to_string();
        if let Some(first) = e.variants[..i]
            .iter()
            .find(|earlier| earlier.ty.to_token_stream().to_string() == ty)
        {
            cx.error_spanned_by(
                variant.ty,
                format!(
                    "`{ty}` is already the event type of variant `{}`: each stored (event type, schema version) must decode into one variant; remove one of the two variants",
                    first.ident
                ),
            );
        }
    }
    check_enum_level(cx, e);
}

/// Each stored (event type, version) has at most one enum-level rule: one raw upcaster, or
/// removed.
fn check_enum_level(cx: &Ctxt, e: &EventEnum<'_>) {
    let raw = &e.attrs.raw_upcasts;
    for (i, upcast) in raw.iter().enumerate() {
        if raw[..i]
            .iter()
            .any(|earlier| same(&earlier.from, &upcast.from))
        {
            cx.error_spanned_by(
                &upcast.from.node,
                format!(
                    "{} already has a `raw_upcast`: one stored (tag, version) has one raw upcaster",
                    describe(&upcast.from)
                ),
            );
        }
    }
    let removed = &e.attrs.removed;
    for (i, entry) in removed.iter().enumerate() {
        if let Some(earlier) = removed[..i].iter().find(|earlier| overlaps(earlier, entry)) {
            let what = match earlier.version {
                None => format!("every version of `{}`", earlier.event_type.value()),
                Some(v) => format!("(`{}`, {v})", earlier.event_type.value()),
            };
            cx.error_spanned_by(&entry.node, format!("{what} is already removed"));
        }
        if let Some(upcast) = raw.iter().find(|raw| {
            raw.from.event_type.value() == entry.event_type.value()
                && entry.version.is_none_or(|v| v == raw.from.version)
        }) {
            cx.error_spanned_by(
                &entry.node,
                format!(
                    "{} is rewritten by a `raw_upcast`, so it cannot also be removed: remove one of the two",
                    describe(&upcast.from)
                ),
            );
        }
    }
}

fn same(a: &StoredVersion, b: &StoredVersion) -> bool {
    a.version == b.version && a.event_type.value() == b.event_type.value()
}

fn overlaps(a: &Removed, b: &Removed) -> bool {
    a.event_type.value() == b.event_type.value()
        && match (a.version, b.version) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

fn describe(stored: &StoredVersion) -> String {
    format!("(`{}`, {})", stored.event_type.value(), stored.version)
}
