//! The metrics fuzz target's body: registrations with arbitrary names and labels,
//! increments, scrapes, persists and reopens against a model of the counters.

use std::collections::BTreeMap;

use super::{Bytes, SharedMemoryBackend};
use crate::metrics::Format;
use crate::{Error, Options, Store};

/// Names and labels from arbitrary bytes are accepted or refused with a typed error,
/// never a panic; a counter's exposed value is what was persisted, never goes back, and
/// across reopens comes back at least at the last value a scrape showed; the series cap
/// holds.
pub fn metrics_model(data: &[u8]) {
    const CAP: usize = 6;
    let mut input = Bytes(data);
    let backend = SharedMemoryBackend::default();
    let opts = || Options::new().metrics_max_series(CAP);
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    // (family, value) -> counted; and -> the last value a scrape showed.
    let mut counted: BTreeMap<(u8, u8), u64> = BTreeMap::new();
    let mut shown: BTreeMap<(u8, u8), u64> = BTreeMap::new();
    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        match input.u8() % 5 {
            0 => {
                // A name and a label from raw bytes: checked, never a panic.
                let len = usize::from(input.u8() % 12);
                let raw: Vec<u8> = (0..len).map(|_| input.u8()).collect();
                let name = String::from_utf8_lossy(&raw).into_owned();
                let label = String::from_utf8_lossy(&raw[..len / 2]).into_owned();
                match store.metrics().counter(&name, "h", &[&label]) {
                    Ok(c) => {
                        let _ = c.with(&[&name]);
                    }
                    Err(
                        Error::InvalidArgument(_)
                        | Error::TooLong { .. }
                        | Error::LimitReached { .. },
                    ) => {}
                    Err(e) => panic!("register {name:?}: {e}"),
                }
            }
            1 => {
                let (f, v, by) = (input.u8() % 3, input.u8() % 3, u64::from(input.u8()));
                let c = store
                    .metrics()
                    .counter(&format!("c{f}"), "a counter", &["v"])
                    .expect("a valid counter");
                match c.with(&[&format!("v{v}")]) {
                    Ok(s) => {
                        s.inc_by(by);
                        *counted.entry((f, v)).or_default() += by;
                        assert_eq!(s.get(), counted[&(f, v)]);
                    }
                    Err(Error::LimitReached { max, .. }) => {
                        assert_eq!(max, CAP);
                        assert!(!counted.contains_key(&(f, v)));
                    }
                    Err(e) => panic!("series: {e}"),
                }
            }
            2 => {
                let text = store.metrics().encode(Format::Prometheus).expect("encode");
                for (&(f, v), &n) in &counted {
                    let series = format!("c{f}_total{{v=\"v{v}\"}} ");
                    if let Some(line) = text.lines().find(|l| l.starts_with(&series)) {
                        let got: u64 = line[series.len()..].parse().expect("a number");
                        assert_eq!(got, n, "a scrape shows the counter, persisted");
                        let last = shown.entry((f, v)).or_default();
                        assert!(got >= *last, "a counter went back");
                        *last = got;
                    }
                }
            }
            3 => {
                store.metrics().persist().expect("persist");
            }
            _ => {
                drop(store);
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopen");
                // A drop checkpoints: every count is back; registering brings them.
                for f in 0..3u8 {
                    let c = store
                        .metrics()
                        .counter(&format!("c{f}"), "a counter", &["v"]);
                    let c = c.expect("a valid counter");
                    for v in 0..3u8 {
                        if let Some(&n) = counted.get(&(f, v)) {
                            let s = c.with(&[&format!("v{v}")]).expect("a stored series");
                            assert_eq!(s.get(), n);
                            assert!(n >= shown.get(&(f, v)).copied().unwrap_or(0));
                        }
                    }
                }
            }
        }
    }
    store.close().expect("close");
}
