//! The benchmark domain: a shop whose three event types each went through versions 1 to 3,
//! plus a legacy tag per type that only a raw (JSON) upcaster still reads.
//!
//! Payloads are 100 to 300 bytes of JSON, like the events of a real order flow.

use es_core::RawEvent;
use es_core::{Aggregate, Event, NewEvent, StoredEvent, StoredEventRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The currency of orders placed before currencies were recorded.
const LEGACY_CURRENCY: &str = "EUR";

/// An order line as versions 1 and 2 wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LineV1 {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub qty: u32,
    /// Unit price in cents.
    pub price: u64,
}

/// An order line today: the price says its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Line {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub qty: u32,
    /// Unit price in cents.
    pub unit_price_cents: u64,
}

/// `OrderPlaced` v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderPlaced", version = 1)]
pub struct OrderPlacedV1 {
    /// Order number.
    pub order_id: String,
    /// Customer name.
    pub customer: String,
    /// Customer e-mail.
    pub email: String,
    /// What was ordered.
    pub lines: Vec<LineV1>,
    /// Delivery note.
    pub note: String,
}

/// `OrderPlaced` v2: a currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderPlaced", version = 2, upcast_from = OrderPlacedV1)]
pub struct OrderPlacedV2 {
    /// Order number.
    pub order_id: String,
    /// Customer name.
    pub customer: String,
    /// Customer e-mail.
    pub email: String,
    /// What was ordered.
    pub lines: Vec<LineV1>,
    /// Delivery note.
    pub note: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<OrderPlacedV1> for OrderPlacedV2 {
    fn from(v1: OrderPlacedV1) -> Self {
        Self {
            order_id: v1.order_id,
            customer: v1.customer,
            email: v1.email,
            lines: v1.lines,
            note: v1.note,
            currency: LEGACY_CURRENCY.to_owned(),
        }
    }
}

/// `OrderPlaced` v3, current: the sales channel, and prices that say their unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderPlaced", version = 3, upcast_from = OrderPlacedV2)]
pub struct OrderPlaced {
    /// Order number.
    pub order_id: String,
    /// Customer name.
    pub customer: String,
    /// Customer e-mail.
    pub email: String,
    /// What was ordered.
    pub lines: Vec<Line>,
    /// Delivery note.
    pub note: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Where the order came from.
    pub channel: String,
}

impl From<OrderPlacedV2> for OrderPlaced {
    fn from(v2: OrderPlacedV2) -> Self {
        Self {
            order_id: v2.order_id,
            customer: v2.customer,
            email: v2.email,
            lines: v2
                .lines
                .into_iter()
                .map(|l| Line {
                    sku: l.sku,
                    qty: l.qty,
                    unit_price_cents: l.price,
                })
                .collect(),
            note: v2.note,
            currency: v2.currency,
            channel: "web".to_owned(),
        }
    }
}

/// `PaymentCaptured` v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "PaymentCaptured", version = 1)]
pub struct PaymentCapturedV1 {
    /// Order number.
    pub order_id: String,
    /// Amount in cents.
    pub amount: u64,
    /// Payment method.
    pub method: String,
    /// Provider reference.
    pub reference: String,
    /// Last digits of the card.
    pub card_last4: String,
}

/// `PaymentCaptured` v2: a currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "PaymentCaptured", version = 2, upcast_from = PaymentCapturedV1)]
pub struct PaymentCapturedV2 {
    /// Order number.
    pub order_id: String,
    /// Amount in cents.
    pub amount: u64,
    /// Payment method.
    pub method: String,
    /// Provider reference.
    pub reference: String,
    /// Last digits of the card.
    pub card_last4: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<PaymentCapturedV1> for PaymentCapturedV2 {
    fn from(v1: PaymentCapturedV1) -> Self {
        Self {
            order_id: v1.order_id,
            amount: v1.amount,
            method: v1.method,
            reference: v1.reference,
            card_last4: v1.card_last4,
            currency: LEGACY_CURRENCY.to_owned(),
        }
    }
}

/// `PaymentCaptured` v3, current: the amount says its unit; who captured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "PaymentCaptured", version = 3, upcast_from = PaymentCapturedV2)]
pub struct PaymentCaptured {
    /// Order number.
    pub order_id: String,
    /// Amount in cents.
    pub amount_cents: u64,
    /// Payment method.
    pub method: String,
    /// Provider reference.
    pub reference: String,
    /// Last digits of the card.
    pub card_last4: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Who captured the payment.
    pub captured_by: String,
}

impl From<PaymentCapturedV2> for PaymentCaptured {
    fn from(v2: PaymentCapturedV2) -> Self {
        Self {
            order_id: v2.order_id,
            amount_cents: v2.amount,
            method: v2.method,
            reference: v2.reference,
            card_last4: v2.card_last4,
            currency: v2.currency,
            captured_by: "checkout".to_owned(),
        }
    }
}

/// `OrderShipped` v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderShipped", version = 1)]
pub struct OrderShippedV1 {
    /// Order number.
    pub order_id: String,
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking: String,
    /// Delivery address.
    pub address: String,
    /// Parcels.
    pub items: u32,
}

/// `OrderShipped` v2: a service level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderShipped", version = 2, upcast_from = OrderShippedV1)]
pub struct OrderShippedV2 {
    /// Order number.
    pub order_id: String,
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking: String,
    /// Delivery address.
    pub address: String,
    /// Parcels.
    pub items: u32,
    /// Service level.
    pub service: String,
}

impl From<OrderShippedV1> for OrderShippedV2 {
    fn from(v1: OrderShippedV1) -> Self {
        Self {
            order_id: v1.order_id,
            carrier: v1.carrier,
            tracking: v1.tracking,
            address: v1.address,
            items: v1.items,
            service: "standard".to_owned(),
        }
    }
}

/// `OrderShipped` v3, current: the parcel weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "OrderShipped", version = 3, upcast_from = OrderShippedV2)]
pub struct OrderShipped {
    /// Order number.
    pub order_id: String,
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking: String,
    /// Delivery address.
    pub address: String,
    /// Parcels.
    pub items: u32,
    /// Service level.
    pub service: String,
    /// Weight in grams; 0 when it was not recorded.
    pub weight_grams: u32,
}

impl From<OrderShippedV2> for OrderShipped {
    fn from(v2: OrderShippedV2) -> Self {
        Self {
            order_id: v2.order_id,
            carrier: v2.carrier,
            tracking: v2.tracking,
            address: v2.address,
            items: v2.items,
            service: v2.service,
            weight_grams: 0,
        }
    }
}

/// The legacy tags only the raw upcaster reads: `Legacy<Tag>` v1 is `<Tag>` v1 under its old
/// name.
pub const LEGACY_PREFIX: &str = "Legacy";

/// Renames a legacy tag to its v1 tag, on the JSON form; the typed chain does the rest. Lent
/// the stored event (`with_ref`), which it does not read.
///
/// # Errors
/// Never; the signature is the one raw upcasters have.
#[allow(clippy::needless_pass_by_value, clippy::unnecessary_wraps)]
pub fn rename_legacy(
    raw: RawEvent,
    _stored: &StoredEventRef<'_>,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(vec![RawEvent::new(v1_tag(&raw), 1, raw.payload)])
}

/// [`rename_legacy`] as a [`RawUpcaster`](es_core::RawUpcaster) given an owned copy of the
/// stored event (`with`), for the harness's row comparing the two forms.
///
/// # Errors
/// Never; the signature is the one raw upcasters have.
#[allow(clippy::needless_pass_by_value, clippy::unnecessary_wraps)]
pub fn rename_legacy_whole(
    raw: RawEvent,
    _stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(vec![RawEvent::new(v1_tag(&raw), 1, raw.payload)])
}

/// The v1 tag of a legacy event.
fn v1_tag(raw: &RawEvent) -> String {
    raw.event_type
        .strip_prefix(LEGACY_PREFIX)
        .unwrap_or(&raw.event_type)
        .to_owned()
}

/// Everything that happens in the shop, in today's types.
#[derive(Debug, Clone, PartialEq, Event)]
#[event(raw_upcast(from = ("LegacyOrderPlaced", 1), with_ref = rename_legacy))]
#[event(raw_upcast(from = ("LegacyPaymentCaptured", 1), with_ref = rename_legacy))]
#[event(raw_upcast(from = ("LegacyOrderShipped", 1), with_ref = rename_legacy))]
pub enum ShopEvent {
    /// An order was placed.
    Placed(OrderPlaced),
    /// It was paid.
    Paid(PaymentCaptured),
    /// It was shipped.
    Shipped(OrderShipped),
}

/// [`ShopEvent`] with raw upcasters given an owned copy of each stored event (`with`).
#[derive(Debug, Clone, PartialEq, Event)]
#[event(raw_upcast(from = ("LegacyOrderPlaced", 1), with = rename_legacy_whole))]
#[event(raw_upcast(from = ("LegacyPaymentCaptured", 1), with = rename_legacy_whole))]
#[event(raw_upcast(from = ("LegacyOrderShipped", 1), with = rename_legacy_whole))]
pub enum ShopEventWhole {
    /// An order was placed.
    Placed(OrderPlaced),
    /// It was paid.
    Paid(PaymentCaptured),
    /// It was shipped.
    Shipped(OrderShipped),
}

/// What the replays build: totals over the whole log, cheap to apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShopTotals {
    /// Orders placed.
    pub orders: u64,
    /// Units ordered.
    pub units: u64,
    /// Cents captured.
    pub revenue_cents: u64,
    /// Parcels shipped.
    pub parcels: u64,
}

impl ShopTotals {
    /// Evolves the totals by one event.
    pub fn apply_event(&mut self, event: &ShopEvent) {
        match event {
            ShopEvent::Placed(placed) => self.placed(placed),
            ShopEvent::Paid(paid) => self.paid(paid),
            ShopEvent::Shipped(shipped) => self.shipped(shipped),
        }
    }

    /// [`apply_event`](Self::apply_event) for a [`ShopEventWhole`].
    pub fn apply_whole(&mut self, event: &ShopEventWhole) {
        match event {
            ShopEventWhole::Placed(placed) => self.placed(placed),
            ShopEventWhole::Paid(paid) => self.paid(paid),
            ShopEventWhole::Shipped(shipped) => self.shipped(shipped),
        }
    }

    fn placed(&mut self, placed: &OrderPlaced) {
        self.orders += 1;
        self.units += placed.lines.iter().map(|l| u64::from(l.qty)).sum::<u64>();
    }

    fn paid(&mut self, paid: &PaymentCaptured) {
        self.revenue_cents += paid.amount_cents;
    }

    fn shipped(&mut self, shipped: &OrderShipped) {
        self.parcels += u64::from(shipped.items);
    }
}

impl Aggregate for ShopTotals {
    type Event = ShopEvent;
    type Command = ();
    type Error = std::convert::Infallible;

    fn handle(&self, (): ()) -> Result<Vec<ShopEvent>, Self::Error> {
        Ok(Vec::new())
    }

    fn apply(&mut self, event: &ShopEvent) {
        self.apply_event(event);
    }
}

/// The schema generation a benchmark log is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Every event at version 1: two typed upcast steps each.
    V1,
    /// Every event at its current version 3: no upcasting.
    Current,
    /// Every event under its legacy tag: the raw upcaster, then two typed steps.
    Legacy,
}

/// Event `n` of the benchmark log as `(tag, version, JSON payload)`; the order flow cycles
/// placed, paid, shipped. Current-version payloads are the v1 events upcast, so every
/// generation holds the same facts.
///
/// # Panics
/// Never: the benchmark's structs always serialize.
#[must_use]
pub fn payload(n: u64, generation: Generation) -> (String, u32, Vec<u8>) {
    let order_id = format!("ord-{:09}", n / 3);
    let current = generation == Generation::Current;
    let (tag, json) = match n % 3 {
        0 => {
            let v1 = OrderPlacedV1 {
                order_id,
                customer: format!("Customer {}", n % 100_000),
                email: format!("customer{}@example.com", n % 100_000),
                lines: lines_v1(n),
                note: "leave at the door if nobody answers".to_owned(),
            };
            let json = if current {
                serde_json::to_vec(&OrderPlaced::from(OrderPlacedV2::from(v1)))
            } else {
                serde_json::to_vec(&v1)
            };
            ("OrderPlaced", json)
        }
        1 => {
            let v1 = PaymentCapturedV1 {
                order_id,
                amount: 1999 + n % 5000,
                method: "card".to_owned(),
                reference: format!("pay_{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                card_last4: format!("{:04}", n % 10_000),
            };
            let json = if current {
                serde_json::to_vec(&PaymentCaptured::from(PaymentCapturedV2::from(v1)))
            } else {
                serde_json::to_vec(&v1)
            };
            ("PaymentCaptured", json)
        }
        _ => {
            let v1 = OrderShippedV1 {
                order_id,
                carrier: "DHL Express".to_owned(),
                tracking: format!("JD{:018}", n.wrapping_mul(7_919)),
                address: format!("{} Example Street, 10115 Berlin, DE", n % 300),
                items: 1 + u32::try_from(n % 4).unwrap_or(0),
            };
            let json = if current {
                serde_json::to_vec(&OrderShipped::from(OrderShippedV2::from(v1)))
            } else {
                serde_json::to_vec(&v1)
            };
            ("OrderShipped", json)
        }
    };
    let json = json.expect("benchmark payloads serialize");
    match generation {
        Generation::V1 => (tag.to_owned(), 1, json),
        Generation::Current => (tag.to_owned(), 3, json),
        Generation::Legacy => (format!("{LEGACY_PREFIX}{tag}"), 1, json),
    }
}

fn lines_v1(n: u64) -> Vec<LineV1> {
    (0..=n % 3)
        .map(|i| LineV1 {
            sku: format!(
                "SKU-{:05}-{}",
                (n + i * 7) % 100_000,
                ["A", "B", "C"][(i % 3) as usize]
            ),
            qty: 1 + u32::try_from((n + i) % 3).unwrap_or(0),
            price: 499 + (n * 31 + i) % 10_000,
        })
        .collect()
}

/// Event `n` of the benchmark log, ready to append.
#[must_use]
pub fn new_event(n: u64, generation: Generation) -> NewEvent {
    let (tag, version, json) = payload(n, generation);
    NewEvent::from_json_bytes(tag, version, json)
}

/// How bare `serde_json` reads a payload's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `serde_json::from_slice`, the usual call for bytes: the peer of the replay rows.
    Slice,
    /// `std::str::from_utf8` over the whole payload, then `serde_json::from_str`: how es-core's
    /// decode point reads stored text, shown beside the peer.
    Str,
}

/// Bare `serde_json` on one payload: parse it into the struct of its stored version and fold
/// it into the totals, without storage, envelope or upcasting. The replay's ceiling.
///
/// # Panics
/// When the payload is not one of the benchmark's (a harness bug).
pub fn decode_bare(totals: &mut ShopTotals, tag: &str, version: u32, json: &[u8], route: Route) {
    fn parse<T: serde::de::DeserializeOwned>(json: &[u8], route: Route) -> T {
        let parsed = match route {
            Route::Slice => serde_json::from_slice(json),
            Route::Str => serde_json::from_str(std::str::from_utf8(json).expect("UTF-8 payloads")),
        };
        parsed.expect("benchmark payloads parse")
    }
    match (tag, version) {
        ("OrderPlaced", 1) => {
            let e: OrderPlacedV1 = parse(json, route);
            totals.orders += 1;
            totals.units += e.lines.iter().map(|l| u64::from(l.qty)).sum::<u64>();
        }
        ("OrderPlaced", _) => {
            let e: OrderPlaced = parse(json, route);
            totals.orders += 1;
            totals.units += e.lines.iter().map(|l| u64::from(l.qty)).sum::<u64>();
        }
        ("PaymentCaptured", 1) => {
            let e: PaymentCapturedV1 = parse(json, route);
            totals.revenue_cents += e.amount;
        }
        ("PaymentCaptured", _) => {
            let e: PaymentCaptured = parse(json, route);
            totals.revenue_cents += e.amount_cents;
        }
        ("OrderShipped", 1) => {
            let e: OrderShippedV1 = parse(json, route);
            totals.parcels += u64::from(e.items);
        }
        _ => {
            let e: OrderShipped = parse(json, route);
            totals.parcels += u64::from(e.items);
        }
    }
}
