//! Parsing of `#[event(...)]` attributes, with every key's span kept for error messages.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Lit, LitInt, LitStr, Path, Token};

use crate::ctxt::Ctxt;

pub const EVENT: &str = "event";
pub const NAME: &str = "name";
pub const VERSION: &str = "version";
pub const UPCAST_FROM: &str = "upcast_from";
pub const TRY_UPCAST: &str = "try_upcast";
pub const ALIAS: &str = "alias";
pub const CRATE: &str = "crate";

const STRUCT_KEYS: &[&str] = &[NAME, VERSION, UPCAST_FROM, TRY_UPCAST, ALIAS, CRATE];
const ENUM_KEYS: &[&str] = &[CRATE];

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
                format!("duplicate `{}` attribute", self.key),
            ));
        } else {
            self.value = Some(Spanned { value, key_span });
        }
    }
}

/// The attributes of a version struct.
pub struct StructAttrs {
    pub name: Option<Spanned<LitStr>>,
    pub version: Option<Spanned<(u32, LitInt)>>,
    pub upcast_from: Option<Spanned<Path>>,
    pub try_upcast: Option<Spanned<()>>,
    pub aliases: Vec<LitStr>,
    pub krate: Option<Path>,
}

/// The attributes of an event enum.
pub struct EnumAttrs {
    pub krate: Option<Path>,
}

/// Every key found, before they are sorted into the target's attribute set.
struct Collected {
    name: Once<LitStr>,
    version: Once<(u32, LitInt)>,
    upcast_from: Once<Path>,
    try_upcast: Once<()>,
    aliases: Vec<LitStr>,
    krate: Once<Path>,
}

pub fn parse_struct(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let c = collect(cx, attrs, Target::Struct);
    StructAttrs {
        name: c.name.value,
        version: c.version.value,
        upcast_from: c.upcast_from.value,
        try_upcast: c.try_upcast.value,
        aliases: c.aliases,
        krate: c.krate.value.map(|s| s.value),
    }
}

pub fn parse_enum(cx: &Ctxt, attrs: &[Attribute]) -> EnumAttrs {
    let c = collect(cx, attrs, Target::Enum);
    EnumAttrs {
        krate: c.krate.value.map(|s| s.value),
    }
}

pub fn parse_variant(cx: &Ctxt, attrs: &[Attribute]) {
    collect(cx, attrs, Target::Variant);
}

fn collect(cx: &Ctxt, attrs: &[Attribute], target: Target) -> Collected {
    let mut c = Collected {
        name: Once::new(NAME),
        version: Once::new(VERSION),
        upcast_from: Once::new(UPCAST_FROM),
        try_upcast: Once::new(TRY_UPCAST),
        aliases: Vec::new(),
        krate: Once::new(CRATE),
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
    let Some(key) = meta.path.get_ident().map(ToString::to_string) else {
        cx.error_spanned_by(&meta.path, "expected an `event` attribute key");
        return skip_value(meta);
    };
    let key_span = meta
        .path
        .get_ident()
        .map_or_else(Span::call_site, syn::Ident::span);
    if !target.keys().contains(&key.as_str()) {
        let known = STRUCT_KEYS.contains(&key.as_str()) || ENUM_KEYS.contains(&key.as_str());
        let message = if known {
            format!(
                "`{key}` belongs on {}, not on {}",
                owner_of(&key),
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
        };
        cx.syn_error(syn::Error::new(key_span, message));
        return skip_value(meta);
    }
    match key.as_str() {
        NAME => {
            if let Some(lit) = string_value(cx, meta, NAME, "name = \"AccountOpened\"")? {
                if lit.value().is_empty() {
                    cx.error_spanned_by(&lit, "an event name must not be empty");
                }
                c.name.set(cx, key_span, lit);
            }
        }
        ALIAS => {
            if let Some(lit) = string_value(cx, meta, ALIAS, "alias = \"OldName\"")? {
                if lit.value().is_empty() {
                    cx.error_spanned_by(&lit, "an alias must not be empty");
                }
                c.aliases.push(lit);
            }
        }
        VERSION => {
            if let Some(value) = version_value(cx, meta)? {
                c.version.set(cx, key_span, value);
            }
        }
        UPCAST_FROM => {
            let expr = required_value(cx, meta, UPCAST_FROM, "upcast_from = AccountOpenedV1")?;
            match expr {
                Some(Expr::Path(p)) if p.qself.is_none() => c.upcast_from.set(cx, key_span, p.path),
                Some(other) => cx.error_spanned_by(
                    other,
                    "`upcast_from` takes the path of the previous version's struct, e.g. `upcast_from = AccountOpenedV1`",
                ),
                None => {}
            }
        }
        TRY_UPCAST => {
            if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                cx.error_spanned_by(&meta.path, "`try_upcast` is a flag and takes no value");
                skip_value(meta)?;
            } else {
                c.try_upcast.set(cx, key_span, ());
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
        _ => unreachable!("every key of STRUCT_KEYS and ENUM_KEYS is matched"),
    }
    Ok(())
}

fn owner_of(key: &str) -> &'static str {
    if ENUM_KEYS.contains(&key) && !STRUCT_KEYS.contains(&key) {
        Target::Enum.describe()
    } else {
        Target::Struct.describe()
    }
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Consumes whatever value follows a key that was rejected, so parsing can go on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

/// The `= value` of a key, or an error naming the expected form when it is missing.
fn required_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> syn::Result<Option<Expr>> {
    if meta.input.peek(Token![=]) {
        Ok(Some(meta.value()?.parse::<Expr>()?))
    } else {
        cx.error_spanned_by(&meta.path, format!("`{key}` needs a value: `{example}`"));
        skip_value(meta)?;
        Ok(None)
    }
}

fn string_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> syn::Result<Option<LitStr>> {
    Ok(match required_value(cx, meta, key, example)? {
        Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        })) => Some(lit),
        Some(other) => {
            cx.error_spanned_by(
                other,
                format!("`{key}` takes a string literal: `{example}`"),
            );
            None
        }
        None => None,
    })
}

fn version_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<(u32, LitInt)>> {
    let Some(expr) = required_value(cx, meta, VERSION, "version = 2")? else {
        return Ok(None);
    };
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(lit), ..
    }) = expr
    else {
        cx.error_spanned_by(expr, "`version` takes an integer literal: `version = 2`");
        return Ok(None);
    };
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            cx.error_spanned_by(&lit, "versions start at 1: `version = 0` is not allowed");
            Ok(None)
        }
        Ok(v) => Ok(Some((v, lit))),
        Err(_) => {
            cx.error_spanned_by(&lit, "`version` must fit in a u32");
            Ok(None)
        }
    }
}

/// The path generated code uses to reach es-core.
pub fn crate_path(krate: Option<&Path>) -> TokenStream {
    krate.map_or_else(|| quote::quote!(::es_core), |path| quote::quote!(#path))
}
