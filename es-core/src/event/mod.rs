//! The event layer: the [`Event`](crate::Event) traits and their upcaster chains, raw
//! upcasting on the JSON form, what a stored event decodes into and why it may not, and the
//! event on its way into a store ([`NewEvent`](crate::NewEvent)) and out of one
//! ([`StoredEvent`](crate::StoredEvent), [`Envelope`](crate::Envelope)).

mod codec;
mod decode_error;
mod decoded;
mod envelope;
pub mod metadata;
mod metadata_json;
mod new_event;
mod raw;
mod stored_event;

pub use codec::{ChainLink, Decoding, Event, VersionInfo, VersionedEvent};
pub use decode_error::{
    DecodeError, DecodeErrorKind, RawUpcastOutputError, UnfitPayload, UpcastError,
};
pub use decoded::{Decoded, DecodedIter};
pub use envelope::{Envelope, EnvelopeRef};
pub(crate) use metadata_json::depth as metadata_depth;
pub(crate) use metadata_json::is_object_text as is_metadata_object_text;
pub use metadata_json::{Metadata, MetadataError};
pub use new_event::{EncodeError, NewEvent, NewEventParts};
pub(crate) use raw::TextRead;
pub use raw::{JsonPayload, RawEvent, RawPayload, RawRefUpcaster, RawUpcaster};
pub(crate) use stored_event::metadata_from_text;
pub use stored_event::{StoredEvent, StoredEventRef};
