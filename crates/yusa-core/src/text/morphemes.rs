//! Korean morphemes from mecab-ko-dic, for the lexical index's second field (beside the bigrams).
//!
//! The dictionary is PyPI's `python-mecab-ko-dic` (compiled mecab-ko-dic, Apache-2.0; `make model`
//! puts it under `models/mecab-ko-dic`), read by MeCab 0.996 (`libmecab.so.2`, Debian's `libmecab2`).
//! The library is loaded at run time, not linked: yusa builds and runs where it is missing, with
//! bigrams only and a warning. No crate reads a compiled MeCab dictionary in Rust, and the
//! dictionary's sources (which lindera or vibrato would compile) are not on the registries.
//!
//! What becomes a term follows Lucene's Korean analyser (nori), whose defaults Anserini measured
//! on Mr. TyDi: content morphemes only (nouns, verb and adjective stems, roots, foreign words,
//! numbers, Hanja); particles, endings, suffixes, adverbs and punctuation are dropped; an inflected
//! form (했 = 하/XSV + 았/EP) or a compound yields its parts. So 먹었다 and 먹는다 both give 먹.

use crate::error::{Error, Result};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};

/// The dictionary's folder under the models folder.
pub const DICTIONARY_DIR: &str = "mecab-ko-dic";

/// Longest piece of text given to MeCab at once, in bytes (about 2,700 Hangul syllables).
const CHUNK_BYTES: usize = 8 * 1024;

/// The MeCab runtime library's name (the soname of Debian's `libmecab2`).
const LIBRARY: &str = "libmecab.so.2";

type ModelNew = unsafe extern "C" fn(c_int, *mut *mut c_char) -> *mut c_void;
type NewFrom = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type Destroy = unsafe extern "C" fn(*mut c_void);
type SetSentence = unsafe extern "C" fn(*mut c_void, *const c_char, usize);
type Parse = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
type ToStr = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type StrError = unsafe extern "C" fn(*mut c_void) -> *const c_char;

/// The C API calls used, resolved once.
struct Api {
    model_destroy: Destroy,
    new_tagger: NewFrom,
    new_lattice: NewFrom,
    destroy: Destroy,
    lattice_destroy: Destroy,
    set_sentence: SetSentence,
    parse_lattice: Parse,
    lattice_tostr: ToStr,
    lattice_strerror: ToStr,
}

/// A loaded dictionary: one MeCab model and tagger shared by all threads (MeCab's model and a
/// tagger used through lattices are thread-safe), one lattice per call.
pub struct MorphemeAnalyzer {
    api: Api,
    model: *mut c_void,
    tagger: *mut c_void,
    id: String,
    dir: PathBuf,
    // Last: the library stays loaded until the model and tagger are destroyed.
    _lib: libloading::Library,
}

// SAFETY: MeCab documents `Model` and a `Tagger` parsing through per-call `Lattice`s as
// thread-safe; the raw pointers are never handed out, and are destroyed once, in `Drop`.
unsafe impl Send for MorphemeAnalyzer {}
unsafe impl Sync for MorphemeAnalyzer {}

impl std::fmt::Debug for MorphemeAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MorphemeAnalyzer")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .finish()
    }
}

fn bad(dir: &Path, reason: String) -> Error {
    Error::BadConfig {
        path: dir.to_owned(),
        reason,
    }
}

/// Identifies a dictionary by its settings, its files' sizes and the head of `sys.dic`: a
/// collection indexed with one is rebuilt when another is served.
fn fingerprint(dir: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut h = Sha256::new();
    for f in ["dicrc", "sys.dic", "matrix.bin", "unk.dic", "char.bin"] {
        let p = dir.join(f);
        let len = std::fs::metadata(&p).map_err(Error::io(&p))?.len();
        h.update(f.as_bytes());
        h.update(len.to_le_bytes());
    }
    let dicrc = dir.join("dicrc");
    h.update(std::fs::read(&dicrc).map_err(Error::io(&dicrc))?);
    let sys = dir.join("sys.dic");
    let mut head = Vec::with_capacity(1 << 20);
    std::fs::File::open(&sys)
        .map_err(Error::io(&sys))?
        .take(1 << 20)
        .read_to_end(&mut head)
        .map_err(Error::io(&sys))?;
    h.update(&head);
    let hex: String = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("mecab-ko-dic:{hex}"))
}

/// A function of MeCab's C API, by name.
///
/// # Safety
/// `T` must be the function's type as `mecab.h` declares it.
unsafe fn symbol<T: Copy>(lib: &libloading::Library, dir: &Path, name: &[u8]) -> Result<T> {
    lib.get::<T>(name).map(|s| *s).map_err(|e| {
        bad(
            dir,
            format!("{LIBRARY} lacks {}: {e}", String::from_utf8_lossy(name)),
        )
    })
}

/// Whether a morpheme with this part-of-speech tag (mecab-ko-dic's, after Sejong) is a term.
fn is_content(tag: &str) -> bool {
    matches!(
        tag,
        "NNG"
            | "NNP"
            | "NNB"
            | "NNBC"
            | "NR"
            | "NP"
            | "VV"
            | "VA"
            | "VX"
            | "VCN"
            | "XR"
            | "SL"
            | "SH"
            | "SN"
    )
}

/// The terms of MeCab's output, one `surface \t tag \t type \t expression` line per morpheme.
fn terms_of(output: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in output.lines() {
        let mut cols = line.split('\t');
        let (Some(surface), Some(tag)) = (cols.next(), cols.next()) else {
            continue; // EOS
        };
        let expression = cols.nth(1).unwrap_or("");
        if is_content(tag) {
            out.push(surface.to_owned());
        } else if tag.contains('+') && !expression.is_empty() {
            // An inflected form or compound (했: 하/XSV/*+았/EP/*): its content parts.
            for part in expression.split('+') {
                let mut p = part.split('/');
                if let (Some(s), Some(t)) = (p.next(), p.next()) {
                    if is_content(t) && !s.is_empty() {
                        out.push(s.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// One morpheme as MeCab tagged it: its surface form, its tag (mecab-ko-dic's, after Sejong: `NNG`,
/// `JKS`, or `XSV+EP` for an inflected form) and, for an inflected form or a compound, its parts
/// (`하/XSV/*+았/EP/*`; empty otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Morpheme {
    pub surface: String,
    pub tag: String,
    pub expression: String,
}

impl Morpheme {
    /// The tag of its first part (`XSV` for `XSV+EP`).
    pub fn head_tag(&self) -> &str {
        self.tag.split('+').next().unwrap_or("")
    }

    /// The stem it begins with: the first part of an inflected form (빌렸 → 빌리), else the surface.
    pub fn stem(&self) -> &str {
        match self
            .expression
            .split('+')
            .next()
            .and_then(|p| p.split('/').next())
        {
            Some(s) if !s.is_empty() => s,
            _ => &self.surface,
        }
    }
}

/// Every morpheme of MeCab's output.
fn morphemes_of(output: &str) -> Vec<Morpheme> {
    output
        .lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let (surface, tag) = (cols.next()?, cols.next()?);
            Some(Morpheme {
                surface: surface.to_owned(),
                tag: tag.to_owned(),
                expression: cols.nth(1).unwrap_or("").to_owned(),
            })
        })
        .collect()
}

impl MorphemeAnalyzer {
    /// Loads the dictionary in `dir` (a compiled mecab-ko-dic: `sys.dic`, `matrix.bin`, …) with the
    /// system's MeCab library.
    pub fn open(dir: &Path) -> Result<MorphemeAnalyzer> {
        if !dir.join("sys.dic").is_file() {
            return Err(bad(
                dir,
                "not a compiled mecab-ko-dic (no sys.dic); `make model` puts one under \
                 models/mecab-ko-dic"
                    .into(),
            ));
        }
        let id = fingerprint(dir)?;
        // SAFETY: loading MeCab runs no initialisers beyond the C++ runtime's.
        let lib = unsafe { libloading::Library::new(LIBRARY) }.map_err(|e| {
            bad(
                dir,
                format!(
                    "Korean morphemes need MeCab's library ({LIBRARY}: `apt-get install libmecab2`): {e}"
                ),
            )
        })?;
        // SAFETY (each call): the symbols are MeCab 0.996's C API with these signatures (mecab.h).
        let api = unsafe {
            Api {
                model_destroy: symbol(&lib, dir, b"mecab_model_destroy")?,
                new_tagger: symbol(&lib, dir, b"mecab_model_new_tagger")?,
                new_lattice: symbol(&lib, dir, b"mecab_model_new_lattice")?,
                destroy: symbol(&lib, dir, b"mecab_destroy")?,
                lattice_destroy: symbol(&lib, dir, b"mecab_lattice_destroy")?,
                set_sentence: symbol(&lib, dir, b"mecab_lattice_set_sentence2")?,
                parse_lattice: symbol(&lib, dir, b"mecab_parse_lattice")?,
                lattice_tostr: symbol(&lib, dir, b"mecab_lattice_tostr")?,
                lattice_strerror: symbol(&lib, dir, b"mecab_lattice_strerror")?,
            }
        };
        let model_new: ModelNew = unsafe { symbol(&lib, dir, b"mecab_model_new")? };
        let strerror: StrError = unsafe { symbol(&lib, dir, b"mecab_strerror")? };
        // Arguments as an argv (a folder may hold spaces). `-r /dev/null`: no system mecabrc (whose
        // default dictionary is Japanese) is needed or read. The output formats are ours: MeCab
        // prints `*` features as empty.
        let dir_arg = dir
            .to_str()
            .ok_or_else(|| bad(dir, "the dictionary's path is not UTF-8".into()))?;
        let args = [
            "yusa",
            "-r",
            "/dev/null",
            "-d",
            dir_arg,
            "--node-format=%m\\t%f[0]\\t%f[4]\\t%f[7]\\n",
            "--unk-format=%m\\t%f[0]\\t\\t\\n",
            "--eos-format=EOS\\n",
        ];
        let owned: Vec<CString> = args
            .iter()
            .map(|a| CString::new(*a).map_err(|_| bad(dir, "a NUL in the dictionary path".into())))
            .collect::<Result<_>>()?;
        let mut argv: Vec<*mut c_char> = owned.iter().map(|a| a.as_ptr() as *mut c_char).collect();
        // SAFETY: argv points at NUL-terminated strings that outlive the call.
        let model = unsafe { model_new(argv.len() as c_int, argv.as_mut_ptr()) };
        if model.is_null() {
            // SAFETY: with a null tagger MeCab returns its last global error, a C string.
            let why = unsafe { CStr::from_ptr(strerror(std::ptr::null_mut())) }
                .to_string_lossy()
                .into_owned();
            return Err(bad(
                dir,
                format!("MeCab could not load the dictionary: {why}"),
            ));
        }
        // SAFETY: a live model.
        let tagger = unsafe { (api.new_tagger)(model) };
        if tagger.is_null() {
            unsafe { (api.model_destroy)(model) };
            return Err(bad(dir, "MeCab could not make a tagger".into()));
        }
        Ok(MorphemeAnalyzer {
            api,
            model,
            tagger,
            id,
            dir: dir.to_owned(),
            _lib: lib,
        })
    }

    /// The dictionary's identity, recorded in each collection's manifest.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The morpheme terms of a text, in order (repeats kept: BM25 counts them). The text is
    /// normalised as for the bigrams; control characters become spaces.
    pub fn morphemes(&self, text: &str) -> Vec<String> {
        self.in_pieces(text, terms_of)
    }

    /// Every morpheme of a text with its tag, in order (particles and endings included): what the
    /// duplicate rules read to see who does what to whom ([`crate::dedup::roles`]).
    pub fn tagged(&self, text: &str) -> Vec<Morpheme> {
        self.in_pieces(text, morphemes_of)
    }

    /// MeCab's output for `text`, read by `read`, piece by piece.
    fn in_pieces<T>(&self, text: &str, read: fn(&str) -> Vec<T>) -> Vec<T> {
        let norm: String = super::normalize(text)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if norm.trim().is_empty() {
            return vec![];
        }
        // MeCab builds one lattice for its whole input: a long document (the PostgreSQL store
        // analyses whole documents) goes in pieces cut at a space, so its memory stays small.
        let mut out = Vec::new();
        let mut rest = norm.as_str();
        while !rest.is_empty() {
            let mut cut = rest.len().min(CHUNK_BYTES);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            if cut < rest.len() {
                if let Some(space) = rest[..cut].rfind(char::is_whitespace) {
                    cut = space.max(1);
                    while !rest.is_char_boundary(cut) {
                        cut += 1;
                    }
                }
            }
            if let Some(output) = self.parse(&rest[..cut]) {
                out.extend(read(&output));
            }
            rest = &rest[cut..];
        }
        out
    }

    /// One MeCab parse of `text` (normalised, no control characters): its output lines.
    fn parse(&self, text: &str) -> Option<String> {
        if text.trim().is_empty() {
            return None;
        }
        // SAFETY: a live model; the lattice is this call's alone and destroyed below; the
        // sentence buffer outlives the parse and the output is copied before the lattice goes.
        unsafe {
            let lattice = (self.api.new_lattice)(self.model);
            if lattice.is_null() {
                tracing::warn!("MeCab could not make a lattice; no morphemes for this text");
                return None;
            }
            (self.api.set_sentence)(lattice, text.as_ptr() as *const c_char, text.len());
            let out = if (self.api.parse_lattice)(self.tagger, lattice) == 0 {
                let why = CStr::from_ptr((self.api.lattice_strerror)(lattice)).to_string_lossy();
                tracing::warn!("MeCab could not analyse a text: {why}");
                None
            } else {
                let s = (self.api.lattice_tostr)(lattice);
                (!s.is_null()).then(|| CStr::from_ptr(s).to_string_lossy().into_owned())
            };
            (self.api.lattice_destroy)(lattice);
            out
        }
    }
}

impl Drop for MorphemeAnalyzer {
    fn drop(&mut self) {
        // SAFETY: created in `open`, destroyed once, tagger before its model.
        unsafe {
            (self.api.destroy)(self.tagger);
            (self.api.model_destroy)(self.model);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_morphemes_and_the_parts_of_inflected_forms() {
        let out = "학교\tNNG\t\t\n에서\tJKB\t\t\n공부\tNNG\t\t\n했\tXSV+EP\tInflect\t하/XSV/*+았/EP/*\n\
                   어요\tEF\t\t\n됐\tVV+EP\tInflect\t되/VV/*+었/EP/*\n.\tSF\t\t\nrust\tSL\t\t\nEOS\n";
        assert_eq!(terms_of(out), vec!["학교", "공부", "되", "rust"]);
    }

    #[test]
    fn every_morpheme_with_its_tag_and_stem() {
        let out = "친구\tNNG\t\t\n한테\tJKB\t\t\n빌렸\tVV+EP\tInflect\t빌리/VV/*+었/EP/*\nEOS\n";
        let m = morphemes_of(out);
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!((m[1].surface.as_str(), m[1].tag.as_str()), ("한테", "JKB"));
        assert_eq!((m[2].head_tag(), m[2].stem()), ("VV", "빌리"));
        assert_eq!(m[0].stem(), "친구");
    }
}
