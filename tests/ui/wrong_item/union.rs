use es_core::Event;

#[derive(Clone, Copy, Event)]
union Amount {
    cents: u64,
    units: u32,
}

fn main() {}
