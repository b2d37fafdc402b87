//! The values of `#[event(...)]` keys: literals and paths taken out of the syntax tree, or an
//! error at the value naming the form the key expects, with an example.

use syn::meta::ParseNestedMeta;
use syn::{Expr, Lit, LitInt, LitStr, Path, Token};

use crate::ctxt::Ctxt;
use crate::symbol::VERSION;

/// Whether `lit` is a non-empty string; when it is empty, `message` is recorded at it.
pub fn non_empty(cx: &Ctxt, lit: &LitStr, message: &str) -> bool {
    let empty = lit.value().is_empty();
    if empty {
        cx.error_spanned_by(lit, message);
    }
    !empty
}

/// The string literal `expr` is, if it is one.
pub fn lit_str(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

/// The integer literal `expr` is, if it is one.
pub fn lit_int(expr: &Expr) -> Option<&LitInt> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

/// The path of `key = path`, without a `<T as Trait>` qualifier.
pub fn path_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> syn::Result<Option<Path>> {
    value_of(cx, meta, key, example, "a path", |expr| match expr {
        Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
        _ => None,
    })
}

/// Consumes whatever value follows a key that was rejected, so parsing can go on.
pub fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

/// The `= value` of a key, or an error naming the expected form when it is missing.
pub fn required_value(
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

/// The string literal of `key = "..."`.
pub fn string_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> syn::Result<Option<LitStr>> {
    value_of(cx, meta, key, example, "a string literal", |expr| {
        lit_str(expr).cloned()
    })
}

/// The value of `key = value` taken apart by `extract`, or an error at the value saying it
/// takes `what`, with an example.
fn value_of<T>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
    what: &str,
    extract: impl FnOnce(&Expr) -> Option<T>,
) -> syn::Result<Option<T>> {
    let Some(expr) = required_value(cx, meta, key, example)? else {
        return Ok(None);
    };
    let value = extract(&expr);
    if value.is_none() {
        cx.error_spanned_by(expr, format!("`{key}` takes {what}: `{example}`"));
    }
    Ok(value)
}

/// The version of `version = n`, with its literal for spans.
pub fn version_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<(u32, LitInt)>> {
    let lit = value_of(
        cx,
        meta,
        VERSION,
        "version = 2",
        "an integer literal",
        |expr| lit_int(expr).cloned(),
    )?;
    Ok(lit.and_then(|lit| parse_version(cx, &lit).map(|v| (v, lit))))
}

/// A version literal: from 1, fitting in a u32.
pub fn parse_version(cx: &Ctxt, lit: &LitInt) -> Option<u32> {
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            cx.error_spanned_by(lit, "versions start at 1: version 0 is not allowed");
            None
        }
        Ok(v) => Some(v),
        Err(_) => {
            cx.error_spanned_by(lit, "a version must fit in a u32");
            None
        }
    }
}
