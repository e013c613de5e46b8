//! Gzip bodies: decompressed within the limit or refused; never a panic, never more than the
//! limit.
#![no_main]

use agentrace_ingest::gzip::gunzip;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(plain) = gunzip(data, LIMIT) {
        assert!(plain.len() <= LIMIT);
    }
});
