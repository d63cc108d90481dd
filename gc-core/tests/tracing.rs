//! The collector's `tracing` spans: one per phase, in cycle order, never
//! overlapping, with their fields; and the per-cycle callback. One test per
//! binary: the recording subscriber is process-wide.

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tricolor::HeapBuilder;

/// `open NAME CYCLE`, `close NAME CYCLE`, `event MESSAGE CYCLE`.
type Log = Arc<Mutex<Vec<String>>>;

struct Recorder(Log);

/// A span's `cycle` field, an event's message.
#[derive(Default)]
struct Fields {
    cycle: u64,
    message: String,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "cycle" {
            self.cycle = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

struct Cycle(u64);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().target() != "tricolor" {
            return;
        }
        let mut f = Fields::default();
        attrs.record(&mut f);
        let span = ctx.span(id).unwrap();
        span.extensions_mut().insert(Cycle(f.cycle));
        self.0
            .lock()
            .unwrap()
            .push(format!("open {} {}", span.name(), f.cycle));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).unwrap();
        if span.metadata().target() != "tricolor" {
            return;
        }
        let cycle = span.extensions().get::<Cycle>().unwrap().0;
        self.0
            .lock()
            .unwrap()
            .push(format!("close {} {cycle}", span.name()));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "tricolor" {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let cycle = ctx
            .event_span(event)
            .and_then(|s| s.extensions().get::<Cycle>().map(|c| c.0))
            .unwrap_or(0);
        self.0
            .lock()
            .unwrap()
            .push(format!("event {} {cycle}", f.message));
    }
}

#[test]
fn phases_are_spans_in_cycle_order_and_each_cycle_reaches_the_callback() {
    let log: Log = Arc::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Recorder(log.clone())),
    )
    .unwrap();
    let records = Arc::new(Mutex::new(Vec::new()));
    let r = records.clone();
    let heap = HeapBuilder::new()
        .on_cycle(move |c| r.lock().unwrap().push(c.clone()))
        .build()
        .unwrap();
    let mut m = heap.mutator();
    let _kept = m.root(m.alloc_array(10_000, |i| i as u64));
    for _ in 0..300_000 {
        m.alloc([0u64; 8]);
        m.safepoint();
    }
    m.collect();
    let cycles = heap.stats().num_gc;
    assert!(cycles >= 3, "{cycles} cycles");
    // The callback runs after `collect` returns: wait for the last one.
    while records.lock().unwrap().len() < cycles as usize {
        std::thread::yield_now();
    }
    drop(m);
    drop(heap);

    let log = log.lock().unwrap().clone();
    // Every cycle: its phases open and close in order, and nothing of
    // another cycle comes in between (the sweep closes before the next
    // cycle's sweep termination opens).
    let mut expected = Vec::new();
    for n in 1..=cycles {
        expected.extend([
            format!("open gc_sweep_termination {n}"),
            format!("close gc_sweep_termination {n}"),
            format!("open gc_mark {n}"),
            format!("event concurrent mark started {n}"),
            format!("close gc_mark {n}"),
            format!("open gc_mark_termination {n}"),
            format!("event cycle done {n}"),
            format!("close gc_mark_termination {n}"),
            format!("open gc_sweep {n}"),
            format!("close gc_sweep {n}"),
        ]);
    }
    // The last sweep closes whenever it is found finished (or never).
    let got: Vec<String> = log
        .iter()
        .filter(|l| *l != &format!("close gc_sweep {cycles}"))
        .cloned()
        .collect();
    expected.retain(|l| l != &format!("close gc_sweep {cycles}"));
    assert_eq!(got, expected);

    let records = records.lock().unwrap();
    let numbers: Vec<u64> = records.iter().map(|r| r.number).collect();
    assert_eq!(numbers, (1..=cycles).collect::<Vec<_>>());
    assert!(records.iter().all(|r| r.marked >= 80_000));
    assert!(records.last().unwrap().forced);
}
