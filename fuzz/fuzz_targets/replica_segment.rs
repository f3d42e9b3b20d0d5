#![no_main]
// The body lives in hardstore::fuzzing so cargo test replays this corpus too.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hardstore::fuzzing::replica_segment(data));
