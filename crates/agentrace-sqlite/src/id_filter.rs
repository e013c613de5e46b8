//! A Bloom filter over trace ids: "not stored", answered without a lookup.
//!
//! Nearly every trace the writer meets is new, and finding that out was a lookup in each level
//! of the trace-id index (`deferred_index`) that finds nothing: B-tree seeks into a main level
//! larger than the page cache, 12 % of the writer's time by the end of a 5-minute sustained run
//! (`cargo xtask bench ingest`, docs/benchmark-notebook.md §7.3). The filter holds every stored id (and
//! some that no longer are): an id it does not hold is not stored, and is not looked up.
//!
//! It grows in blocks, each twice the size of the one before, so that adding ids never
//! rebuilds it; a block has 10 bits an id rounded up to a power of two (10–16, a false "maybe"
//! at most about 1 % of the time per full block). The bit
//! positions come from the id's two halves mixed with a key drawn when the filter is made, so
//! that ids chosen by a sender cannot pile onto the same bits.

use agentrace_core::TraceId;

/// Bits set per id in a block.
const PROBES: u64 = 7;

/// Ids the first block holds.
const FIRST_BLOCK: usize = 1 << 16;

/// Ids held at most (its blocks then take 128 MiB); past it the filter is dropped and every
/// id is looked up.
pub(crate) const MAX_IDS: usize = 50_000_000;

/// A Bloom filter over trace ids; see the module docs.
#[derive(Debug)]
pub(crate) struct IdFilter {
    key: [u64; 2],
    blocks: Vec<Block>,
    ids: usize,
}

#[derive(Debug)]
struct Block {
    bits: Vec<u64>,
    /// The number of bits, less one (a power of two, less one).
    mask: u64,
    ids: usize,
    capacity: usize,
}

impl Block {
    fn new(capacity: usize) -> Self {
        let bits = (capacity * 10).next_power_of_two().max(64);
        Self {
            bits: vec![0; bits / 64],
            mask: bits as u64 - 1,
            ids: 0,
            capacity,
        }
    }

    /// The bit of probe `i`.
    fn bit(&self, (h1, h2): (u64, u64), i: u64) -> (usize, u64) {
        let bit = h1.wrapping_add(i.wrapping_mul(h2)) & self.mask;
        ((bit >> 6) as usize, 1 << (bit & 63))
    }

    fn insert(&mut self, h: (u64, u64)) {
        for i in 0..PROBES {
            let (word, mask) = self.bit(h, i);
            if let Some(word) = self.bits.get_mut(word) {
                *word |= mask;
            }
        }
        self.ids += 1;
    }

    fn may_contain(&self, h: (u64, u64)) -> bool {
        (0..PROBES).all(|i| {
            let (word, mask) = self.bit(h, i);
            self.bits.get(word).is_some_and(|w| w & mask != 0)
        })
    }
}

/// The little-endian `u64` of 8 bytes.
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

/// SplitMix64's finalizer: every bit of the input moves every bit of the output.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl IdFilter {
    /// An empty filter with a fresh key.
    pub(crate) fn new() -> Self {
        let key = TraceId::random().to_bytes();
        Self {
            key: [word(&key[..8]), word(&key[8..])],
            blocks: vec![Block::new(FIRST_BLOCK)],
            ids: 0,
        }
    }

    fn hashes(&self, id: TraceId) -> (u64, u64) {
        let bytes = id.to_bytes();
        // Both hashes from both halves: with one from each, ids that share a half would share
        // the first probe and differ only by the second hash, of which the mask keeps 20-odd
        // bits — a false "maybe" for one id in ten at 50,000 ids (the test below).
        let a = mix(word(&bytes[..8]) ^ self.key[0]);
        let h1 = mix(word(&bytes[8..]) ^ self.key[1] ^ a);
        let h2 = mix(a ^ h1.rotate_left(32)) | 1;
        (h1, h2)
    }

    /// Adds `id`; `false` if the filter is full ([`MAX_IDS`]) and should be dropped.
    pub(crate) fn insert(&mut self, id: TraceId) -> bool {
        if self.ids >= MAX_IDS {
            return false;
        }
        let h = self.hashes(id);
        if let Some(full) = self.blocks.last().filter(|b| b.ids >= b.capacity) {
            let capacity = full.capacity * 2;
            self.blocks.push(Block::new(capacity));
        }
        let Some(last) = self.blocks.last_mut() else {
            return false;
        };
        last.insert(h);
        self.ids += 1;
        true
    }

    /// Whether `id` may have been added; `false`: it surely was not.
    pub(crate) fn may_contain(&self, id: TraceId) -> bool {
        let h = self.hashes(id);
        self.blocks.iter().any(|b| b.may_contain(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_every_id_added_and_few_others_as_it_grows() {
        let mut filter = IdFilter::new();
        let added: Vec<TraceId> = (0..300_000).map(|_| TraceId::random()).collect();
        for &id in &added {
            assert!(filter.insert(id));
        }
        assert!(filter.blocks.len() >= 3, "grew in blocks");
        assert!(
            added.iter().all(|&id| filter.may_contain(id)),
            "no false \"no\""
        );
        let others = 100_000;
        let maybe = (0..others)
            .filter(|_| filter.may_contain(TraceId::random()))
            .count();
        // Three blocks at ~1 % each at most.
        assert!(
            maybe < others * 4 / 100,
            "{maybe} of {others} others said maybe"
        );
    }

    #[test]
    fn ids_that_differ_in_one_half_only_are_told_apart() {
        let mut filter = IdFilter::new();
        let id = |hi: u64, lo: u64| {
            let mut b = [0; 16];
            b[..8].copy_from_slice(&hi.to_le_bytes());
            b[8..].copy_from_slice(&lo.to_le_bytes());
            TraceId::from_bytes(b)
        };
        for lo in 1..=50_000 {
            filter.insert(id(7, lo));
        }
        let maybe = (50_001..100_001)
            .filter(|&lo| filter.may_contain(id(7, lo)))
            .count();
        assert!(maybe < 1_000, "{maybe}");
    }
}
