//! MinHash signatures over character-bigram shingles and banded LSH, for lexical near-duplicate
//! candidates that the dense neighbours might miss (same words, different vector neighbourhoods).

use std::collections::HashMap;

/// Hash functions per signature.
pub const NUM_HASHES: usize = 64;
/// Bands × rows = NUM_HASHES; 16 × 4 finds pairs with Jaccard ≈ 0.5 about half the time and
/// ≥ 0.7 almost always.
pub const BANDS: usize = 16;
pub const ROWS: usize = NUM_HASHES / BANDS;

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn mix(x: u64, seed: u64) -> u64 {
    // splitmix64 finaliser over x ^ seed: cheap, independent-enough permutations.
    let mut z = x ^ seed.wrapping_mul(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// Shingles of a text: its analysis terms (Hangul bigrams, words).
pub fn shingles(text: &str) -> Vec<u64> {
    let mut v: Vec<u64> = crate::text::analyze(text).iter().map(|t| fnv(t)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Jaccard similarity of two shingle sets (sorted, deduplicated).
pub fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f32 / (a.len() + b.len() - inter) as f32
}

pub fn signature(sh: &[u64]) -> [u64; NUM_HASHES] {
    let mut sig = [u64::MAX; NUM_HASHES];
    for &s in sh {
        for (k, slot) in sig.iter_mut().enumerate() {
            let h = mix(s, k as u64 + 1);
            if h < *slot {
                *slot = h;
            }
        }
    }
    sig
}

/// Candidate pairs (i < j, indices into `sigs`) that share at least one band.
/// The bucket key of each band of a signature (None: a text without shingles). Two texts share a
/// bucket in a band when their keys there are equal; batch jobs elsewhere (Spark) bucket by these.
pub fn band_keys(sig: &[u64; NUM_HASHES]) -> Option<[u64; BANDS]> {
    if sig[0] == u64::MAX {
        return None; // no shingles
    }
    let mut keys = [0u64; BANDS];
    for (band, key) in keys.iter_mut().enumerate() {
        let mut h = 0xcbf29ce484222325u64;
        for r in 0..ROWS {
            h = mix(h ^ sig[band * ROWS + r], band as u64);
        }
        *key = h;
    }
    Some(keys)
}

pub fn lsh_pairs(sigs: &[[u64; NUM_HASHES]], max_bucket: usize) -> Vec<(usize, usize)> {
    let mut pairs = std::collections::HashSet::new();
    let keys: Vec<Option<[u64; BANDS]>> = sigs.iter().map(band_keys).collect();
    for band in 0..BANDS {
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                buckets.entry(k[band]).or_default().push(i);
            }
        }
        for members in buckets.values() {
            // A huge bucket is one very common short text ("굿"): exact hashing handles those.
            if members.len() < 2 || members.len() > max_bucket {
                continue;
            }
            for a in 0..members.len() {
                for b in a + 1..members.len() {
                    pairs.insert((members[a], members[b]));
                }
            }
        }
    }
    let mut v: Vec<_> = pairs.into_iter().collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_collide_and_strangers_do_not() {
        let texts = [
            "이 영화 정말 최고의 명작입니다 강력 추천합니다",
            "이 영화 정말 최고의 명작입니다 강력 추천해요",
            "주식 시장이 크게 하락했다는 소식을 들었다",
        ];
        let sh: Vec<Vec<u64>> = texts.iter().map(|t| shingles(t)).collect();
        assert!(jaccard(&sh[0], &sh[1]) > 0.7);
        assert!(jaccard(&sh[0], &sh[2]) < 0.1);
        let sigs: Vec<_> = sh.iter().map(|s| signature(s)).collect();
        let pairs = lsh_pairs(&sigs, 100);
        assert!(pairs.contains(&(0, 1)));
        assert!(!pairs.contains(&(0, 2)));
    }
}
