//! [`Decoded`]: the events one stored event decodes into.

/// What one stored event decodes into: usually one event, none for a tag removed on purpose,
/// several when a raw upcaster splits it.
///
/// # Examples
/// ```
/// use es_core::Decoded;
/// let decoded = Decoded::one(7);
/// assert_eq!(decoded.len(), 1);
/// assert_eq!(decoded.into_iter().collect::<Vec<_>>(), [7]);
///
/// // Lent, not moved: how a replay applies them.
/// let decoded = Decoded::many(vec![1, 2, 3]);
/// let mut total = 0;
/// for event in &decoded {
///     total += event;
/// }
/// assert_eq!(total, 6);
/// assert_eq!(decoded.as_slice(), [1, 2, 3]);
/// assert_eq!(Decoded::<u8>::none().iter().len(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<E>(DecodedRepr<E>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum DecodedRepr<E> {
    None,
    One(E),
    Many(Vec<E>),
}

impl<E> Decoded<E> {
    /// No event: the stored event is skipped on purpose.
    #[must_use]
    pub fn none() -> Self {
        Decoded(DecodedRepr::None)
    }

    /// Exactly one event.
    #[must_use]
    pub fn one(event: E) -> Self {
        Decoded(DecodedRepr::One(event))
    }

    /// Any number of events, in order.
    #[must_use]
    pub fn many(mut events: Vec<E>) -> Self {
        // Normalized, so equal contents compare equal however they were built.
        Decoded(match events.len() {
            0 => DecodedRepr::None,
            1 => match events.pop() {
                Some(event) => DecodedRepr::One(event),
                None => DecodedRepr::None,
            },
            _ => DecodedRepr::Many(events),
        })
    }

    /// How many events.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.0 {
            DecodedRepr::None => 0,
            DecodedRepr::One(_) => 1,
            DecodedRepr::Many(events) => events.len(),
        }
    }

    /// Whether there is no event.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts each event, for example into the variant of an enum.
    #[must_use]
    pub fn map<F, T>(self, mut f: F) -> Decoded<T>
    where
        F: FnMut(E) -> T,
    {
        Decoded(match self.0 {
            DecodedRepr::None => DecodedRepr::None,
            DecodedRepr::One(event) => DecodedRepr::One(f(event)),
            DecodedRepr::Many(events) => DecodedRepr::Many(events.into_iter().map(f).collect()),
        })
    }

    /// The events, in order.
    #[must_use]
    pub fn as_slice(&self) -> &[E] {
        match &self.0 {
            DecodedRepr::None => &[],
            DecodedRepr::One(event) => std::slice::from_ref(event),
            DecodedRepr::Many(events) => events,
        }
    }

    /// The events, lent in order: applying a decoded event where it lies moves nothing
    /// (`for event in &decoded` does the same).
    pub fn iter(&self) -> std::slice::Iter<'_, E> {
        self.as_slice().iter()
    }

    /// The events as a vector.
    #[must_use]
    pub fn into_vec(self) -> Vec<E> {
        match self.0 {
            DecodedRepr::None => Vec::new(),
            DecodedRepr::One(event) => vec![event],
            DecodedRepr::Many(events) => events,
        }
    }
}

impl<'a, E> IntoIterator for &'a Decoded<E> {
    type Item = &'a E;
    type IntoIter = std::slice::Iter<'a, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<E> IntoIterator for Decoded<E> {
    type Item = E;
    type IntoIter = DecodedIter<E>;

    fn into_iter(self) -> Self::IntoIter {
        DecodedIter(match self.0 {
            DecodedRepr::None => DecodedIterRepr::Many(Vec::new().into_iter()),
            DecodedRepr::One(event) => DecodedIterRepr::One(Some(event)),
            DecodedRepr::Many(events) => DecodedIterRepr::Many(events.into_iter()),
        })
    }
}

/// Iterator over the events of a [`Decoded`].
#[derive(Debug)]
pub struct DecodedIter<E>(DecodedIterRepr<E>);

#[derive(Debug)]
enum DecodedIterRepr<E> {
    One(Option<E>),
    Many(std::vec::IntoIter<E>),
}

impl<E> Iterator for DecodedIter<E> {
    type Item = E;

    fn next(&mut self) -> Option<E> {
        match &mut self.0 {
            DecodedIterRepr::One(event) => event.take(),
            DecodedIterRepr::Many(events) => events.next(),
        }
    }

    /// Hands each event straight on, without taking it out of an `Option` first (a copy of
    /// the whole event): `for_each` and the adapters built on `fold` use it.
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, E) -> B,
    {
        match self.0 {
            DecodedIterRepr::One(Some(event)) => f(init, event),
            DecodedIterRepr::One(None) => init,
            DecodedIterRepr::Many(events) => events.fold(init, f),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            DecodedIterRepr::One(event) => usize::from(event.is_some()),
            DecodedIterRepr::Many(events) => events.len(),
        };
        (n, Some(n))
    }
}

impl<E> ExactSizeIterator for DecodedIter<E> {}

#[cfg(test)]
mod tests {
    use super::Decoded;

    /// `fold` (what `for_each` uses) and `next` hand on the same events in the same order.
    #[test]
    fn folding_hands_on_the_events_that_next_gives() {
        for decoded in [
            Decoded::none(),
            Decoded::one(String::from("a")),
            Decoded::many(vec![
                String::from("a"),
                String::from("b"),
                String::from("c"),
            ]),
        ] {
            let mut folded = Vec::new();
            decoded.clone().into_iter().for_each(|e| folded.push(e));
            let mut iter = decoded.clone().into_iter();
            let first = iter.next();
            let rest: Vec<String> = iter.fold(Vec::new(), |mut v, e| {
                v.push(e);
                v
            });
            let stepped: Vec<String> = first.into_iter().chain(rest).collect();
            let lent: Vec<String> = (&decoded).into_iter().cloned().collect();
            assert_eq!(folded, stepped);
            assert_eq!(folded, lent);
            assert_eq!(folded.len(), decoded.len());
        }
    }
}
