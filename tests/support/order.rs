//! A shop order whose events went through every kind of schema change; the fixtures under
//! `fixtures/` hold events as older code stored them, one file per kind of change.
//!
//! | change | event | how it is expressed |
//! | --- | --- | --- |
//! | field added with a default | `OrderPlaced` v1 → v2 | `upcast_from`, `From` fills `channel` |
//! | field renamed | `ItemAdded` v1 → v2 | `upcast_from`, `From` moves `qty` to `quantity` |
//! | type changed | `PriceSet` v1 → v2 | `upcast_from` + `try_upcast`: `"12.50"` → `1250` cents, or an error |
//! | nested restructure | `ShippingAddressSet` v1 → v2 | `upcast_from`: three fields become an `Address` |
//! | tag renamed, alias | `OrderDispatched` v1 → `OrderShipped` v2, also stored as `OrderSent` | a new `name` on v2, `alias` |
//! | multi-step chain | `OrderDispatched` v1 → `OrderShipped` v2 → v3 | two `upcast_from` links |
//! | split (1:N) | `ItemsAdded` v1 → N × `ItemAdded` v1 → v2 | enum-level `raw_upcast` |
//! | removal (1:0) | `CartViewed`, every version | enum-level `removed` |
//! | context-aware | `NoteAdded` v1 → v2 | `raw_upcast` reading the stream id and metadata |

use es_core::RawEvent;
use es_core::{Event, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What a raw upcaster returns.
pub type RawUpcastResult = Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

/// v1: orders had no sales channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderPlaced", version = 1)]
pub struct OrderPlacedV1 {
    /// Who ordered.
    pub customer: String,
}

/// v2, current: the sales channel; orders placed before it existed came from the web shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderPlaced", version = 2, upcast_from = OrderPlacedV1)]
pub struct OrderPlaced {
    /// Who ordered.
    pub customer: String,
    /// `web`, `app` or `phone`.
    pub channel: String,
}

impl From<OrderPlacedV1> for OrderPlaced {
    fn from(v1: OrderPlacedV1) -> Self {
        Self {
            customer: v1.customer,
            channel: "web".to_owned(),
        }
    }
}

/// v1: the quantity was called `qty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ItemAdded", version = 1)]
pub struct ItemAddedV1 {
    /// The article.
    pub sku: String,
    /// How many.
    pub qty: u32,
}

/// v2, current.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ItemAdded", version = 2, upcast_from = ItemAddedV1)]
pub struct ItemAdded {
    /// The article.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

impl From<ItemAddedV1> for ItemAdded {
    fn from(v1: ItemAddedV1) -> Self {
        Self {
            sku: v1.sku,
            quantity: v1.qty,
        }
    }
}

/// v1: the price was a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "PriceSet", version = 1)]
pub struct PriceSetV1 {
    /// The article.
    pub sku: String,
    /// Like `"12.50"`.
    pub price: String,
}

/// v2, current: the price in cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "PriceSet", version = 2, upcast_from = PriceSetV1, try_upcast)]
pub struct PriceSet {
    /// The article.
    pub sku: String,
    /// The price in cents.
    pub cents: u64,
}

/// A v1 price that is not a decimal amount with at most two decimals.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a price like `12.50`")]
pub struct BadPrice(pub String);

impl TryFrom<PriceSetV1> for PriceSet {
    type Error = BadPrice;

    fn try_from(v1: PriceSetV1) -> Result<Self, BadPrice> {
        let cents = parse_cents(&v1.price).ok_or_else(|| BadPrice(v1.price.clone()))?;
        Ok(Self { sku: v1.sku, cents })
    }
}

fn parse_cents(price: &str) -> Option<u64> {
    let (units, fraction) = price.split_once('.').unwrap_or((price, ""));
    if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction = format!("{fraction:0<2}").parse::<u64>().ok()?;
    units
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(fraction)
}

/// v1: the address as three flat fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ShippingAddressSet", version = 1)]
pub struct ShippingAddressSetV1 {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub zip: String,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
}

/// v2, current: the address is a nested object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(
    name = "ShippingAddressSet",
    version = 2,
    upcast_from = ShippingAddressSetV1
)]
pub struct ShippingAddressSet {
    /// Where to ship.
    pub address: Address,
}

impl From<ShippingAddressSetV1> for ShippingAddressSet {
    fn from(v1: ShippingAddressSetV1) -> Self {
        Self {
            address: Address {
                street: v1.street,
                city: v1.city,
                postal_code: v1.zip,
            },
        }
    }
}

/// v1, under its first tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderDispatched", version = 1)]
pub struct OrderDispatchedV1 {
    /// Who carries the parcel.
    pub carrier: String,
}

/// v2: renamed `OrderShipped`; an importer also wrote it as `OrderSent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(
    name = "OrderShipped",
    version = 2,
    upcast_from = OrderDispatchedV1,
    alias = "OrderSent"
)]
pub struct OrderShippedV2 {
    /// Who carries the parcel.
    pub carrier: String,
}

impl From<OrderDispatchedV1> for OrderShippedV2 {
    fn from(v1: OrderDispatchedV1) -> Self {
        Self {
            carrier: v1.carrier,
        }
    }
}

/// v3, current: a tracking number, unknown for parcels shipped before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderShipped", version = 3, upcast_from = OrderShippedV2)]
pub struct OrderShipped {
    /// Who carries the parcel.
    pub carrier: String,
    /// The carrier's tracking number.
    pub tracking_number: Option<String>,
}

impl From<OrderShippedV2> for OrderShipped {
    fn from(v2: OrderShippedV2) -> Self {
        Self {
            carrier: v2.carrier,
            tracking_number: None,
        }
    }
}

/// v2, current. (v1, `{ "text" }`, is rewritten by [`note_from_context`].)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "NoteAdded", version = 2)]
pub struct NoteAdded {
    /// The order, which v1 left to the stream id.
    pub order_id: String,
    /// Who wrote the note, which v1 left to the metadata.
    pub author: String,
    /// The note.
    pub text: String,
}

/// One line of a legacy `ItemsAdded` v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LegacyLine {
    /// The article.
    pub sku: String,
    /// How many.
    pub qty: u32,
}

/// `ItemsAdded` v1, as stored: several lines in one event. Never decoded as such: its raw
/// upcaster splits it, and this type gives its schema and its parsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ItemsAddedV1 {
    /// The lines.
    pub items: Vec<LegacyLine>,
}

/// Splits an `ItemsAdded` v1 into one `ItemAdded` v1 per line, which the typed chain then
/// upcasts to the current `ItemAdded`.
///
/// # Errors
/// When the payload is not an `ItemsAdded` v1.
pub fn split_items(raw: RawEvent, _stored: &StoredEvent) -> RawUpcastResult {
    let v1: ItemsAddedV1 = raw.payload.parse()?;
    v1.items
        .into_iter()
        .map(|line| Ok(RawEvent::new("ItemAdded", 1, serde_json::to_value(line)?)))
        .collect()
}

/// `NoteAdded` v1, as stored: only the text. Never decoded as such: its raw upcaster fills
/// the rest from the stored event's envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoteAddedV1 {
    /// The note.
    pub text: String,
}

/// Fills what `NoteAdded` v1 left to its envelope: the order id is the stream id, the author
/// the metadata entry `user` (`"unknown"` when absent).
///
/// # Errors
/// When the payload is not a `NoteAdded` v1.
pub fn note_from_context(raw: RawEvent, stored: &StoredEvent) -> RawUpcastResult {
    let v1: NoteAddedV1 = raw.payload.parse()?;
    let author = stored
        .metadata_value("user")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("unknown");
    Ok(vec![RawEvent::new(
        "NoteAdded",
        2,
        json!({ "order_id": stored.stream_id, "author": author, "text": v1.text }),
    )])
}

/// Everything that happens to an order, in today's types.
#[derive(Debug, Clone, PartialEq, Event)]
#[event(removed("CartViewed"))]
#[event(raw_upcast(from = ("ItemsAdded", 1), with = split_items, schema = ItemsAddedV1))]
#[event(raw_upcast(from = ("NoteAdded", 1), with = note_from_context, schema = NoteAddedV1))]
pub enum OrderEvent {
    /// The order was placed.
    Placed(OrderPlaced),
    /// An article was added.
    ItemAdded(ItemAdded),
    /// An article's price was set.
    PriceSet(PriceSet),
    /// The shipping address was set.
    AddressSet(ShippingAddressSet),
    /// The parcel left.
    Shipped(OrderShipped),
    /// Someone wrote a note.
    Note(NoteAdded),
}
