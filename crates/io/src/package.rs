//! The archive package (档案包): one or many archives as a zip, for handing data over (the right
//! to portability) and for moving archives between Dangan installations.
//!
//! ```text
//! manifest.json                          format, version, archives, sha256 + size of every file
//! archives/000001/archive.json           the Archive (id, number, data, version, timestamps)
//! archives/000001/contacts.json          [Contact]
//! archives/000001/timeline.json          [TimelineEntry] (corrections and superseded entries included)
//! archives/000001/attachments.json       [Attachment] (metadata: name, type, size, sha256)
//! archives/000001/attachments/<sha256>   the attachment's bytes
//! ```
//!
//! The reader trusts nothing: every file must be listed in the manifest with its hash and size,
//! every listed file must be there, hashes are recomputed, attachment bytes must match their
//! metadata's sha256, sizes are capped before anything is inflated (zip bombs), and paths must
//! stay inside the package. Pure: bytes in, model structs out.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Seek, Write};

use chrono::{DateTime, Utc};
use dangan_core::model::{Archive, Attachment, Contact, TimelineEntry};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

pub const FORMAT: &str = "dangan-archive-package";
pub const VERSION: u32 = 1;
/// Largest single file accepted from a package.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Largest total of all files accepted from a package.
pub const MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageAttachment {
    pub meta: Attachment,
    pub bytes: Vec<u8>,
}

/// One archive with everything hanging off it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageArchive {
    pub archive: Archive,
    pub contacts: Vec<Contact>,
    pub timeline: Vec<TimelineEntry>,
    pub attachments: Vec<PackageAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestArchive {
    pub dir: String,
    pub archive_no: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub created_at: DateTime<Utc>,
    /// Who made the package (display name), for the recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub archives: Vec<ManifestArchive>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub manifest: Manifest,
    pub archives: Vec<PackageArchive>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("not a zip file or a damaged one: {0}")]
    Zip(String),
    #[error("manifest.json is missing")]
    NoManifest,
    #[error("{path} cannot be parsed: {message}")]
    Json { path: String, message: String },
    #[error("unsupported package format {format} version {version}")]
    Unsupported { format: String, version: u32 },
    #[error("{path} is listed in the manifest but missing from the package")]
    Missing { path: String },
    #[error("{path} is in the package but not listed in the manifest")]
    Unlisted { path: String },
    #[error("{path}: sha256 mismatch (manifest {expected}, file {actual}); the package was altered or damaged")]
    HashMismatch { path: String, expected: String, actual: String },
    #[error("{path}: size {actual} differs from the manifest's {expected}")]
    SizeMismatch { path: String, expected: u64, actual: u64 },
    #[error("{path}: file too large")]
    TooLarge { path: String },
    #[error("unsafe path in package: {0}")]
    UnsafePath(String),
    #[error("attachment {path} does not match its metadata (sha256 {expected})")]
    AttachmentMismatch { path: String, expected: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl PackageError {
    pub fn message_zh(&self) -> String {
        match self {
            PackageError::Zip(m) => format!("不是有效的档案包（zip文件损坏或格式不对）：{m}"),
            PackageError::NoManifest => "档案包中缺少清单文件manifest.json".into(),
            PackageError::Json { path, message } => format!("档案包中的{path}无法解析：{message}"),
            PackageError::Unsupported { format, version } => format!("不支持的档案包格式：{format} 第{version}版"),
            PackageError::Missing { path } => format!("清单中列出的文件{path}在档案包中不存在"),
            PackageError::Unlisted { path } => format!("档案包中的文件{path}未列入清单，档案包可能被改动过"),
            PackageError::HashMismatch { path, .. } => format!("文件{path}的SHA-256校验值与清单不符，档案包已被改动或损坏"),
            PackageError::SizeMismatch { path, .. } => format!("文件{path}的大小与清单不符，档案包已被改动或损坏"),
            PackageError::TooLarge { path } => format!("档案包中的文件{path}过大"),
            PackageError::UnsafePath(p) => format!("档案包中含有不安全的路径：{p}"),
            PackageError::AttachmentMismatch { path, .. } => format!("附件{path}与其记录的校验值不符"),
            PackageError::Io(e) => format!("读写档案包失败：{e}"),
        }
    }
}

impl From<zip::result::ZipError> for PackageError {
    fn from(e: zip::result::ZipError) -> Self {
        PackageError::Zip(e.to_string())
    }
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Streams archives into a package: add them one at a time, then `finish`.
pub struct PackageWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    files: Vec<ManifestFile>,
    archives: Vec<ManifestArchive>,
}

fn options() -> SimpleFileOptions {
    // A fixed timestamp keeps packages of the same data byte-identical.
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).last_modified_time(zip::DateTime::default()).large_file(false)
}

impl<W: Write + Seek> PackageWriter<W> {
    pub fn new(out: W) -> Self {
        PackageWriter { zip: zip::ZipWriter::new(out), files: Vec::new(), archives: Vec::new() }
    }

    fn file(&mut self, path: String, bytes: &[u8]) -> Result<(), PackageError> {
        self.zip.start_file(path.as_str(), options().large_file(bytes.len() as u64 >= u32::MAX as u64))?;
        self.zip.write_all(bytes)?;
        self.files.push(ManifestFile { path, size: bytes.len() as u64, sha256: sha256_hex(bytes) });
        Ok(())
    }

    fn json<T: Serialize>(&mut self, path: String, v: &T) -> Result<(), PackageError> {
        let bytes = serde_json::to_vec_pretty(v).map_err(|e| PackageError::Json { path: path.clone(), message: e.to_string() })?;
        self.file(path, &bytes)
    }

    pub fn add(&mut self, a: &PackageArchive) -> Result<(), PackageError> {
        let dir = format!("archives/{:06}", self.archives.len() + 1);
        self.json(format!("{dir}/archive.json"), &a.archive)?;
        self.json(format!("{dir}/contacts.json"), &a.contacts)?;
        self.json(format!("{dir}/timeline.json"), &a.timeline)?;
        let metas: Vec<&Attachment> = a.attachments.iter().map(|x| &x.meta).collect();
        self.json(format!("{dir}/attachments.json"), &metas)?;
        let mut written = BTreeSet::new();
        for att in &a.attachments {
            let h = sha256_hex(&att.bytes);
            // Content-addressed: the same file attached twice is stored once.
            if written.insert(h.clone()) {
                self.file(format!("{dir}/attachments/{h}"), &att.bytes)?;
            }
        }
        self.archives.push(ManifestArchive { dir, archive_no: a.archive.archive_no.clone(), name: a.archive.data.name.clone() });
        Ok(())
    }

    pub fn finish(mut self, created_at: DateTime<Utc>, created_by: Option<String>) -> Result<W, PackageError> {
        let manifest = Manifest { format: FORMAT.into(), version: VERSION, created_at, created_by, archives: std::mem::take(&mut self.archives), files: std::mem::take(&mut self.files) };
        let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::Json { path: "manifest.json".into(), message: e.to_string() })?;
        self.zip.start_file("manifest.json", options())?;
        self.zip.write_all(&bytes)?;
        Ok(self.zip.finish()?)
    }
}

/// A package of `archives` as bytes.
pub fn write_package(archives: &[PackageArchive], created_at: DateTime<Utc>, created_by: Option<String>) -> Result<Vec<u8>, PackageError> {
    let mut w = PackageWriter::new(Cursor::new(Vec::new()));
    for a in archives {
        w.add(a)?;
    }
    Ok(w.finish(created_at, created_by)?.into_inner())
}

fn read_entry<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, path: &str, limit: u64) -> Result<Vec<u8>, PackageError> {
    let f = zip.by_name(path).map_err(|_| PackageError::Missing { path: path.to_string() })?;
    let mut buf = Vec::new();
    f.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(PackageError::TooLarge { path: path.to_string() });
    }
    Ok(buf)
}

fn parse<T: for<'de> Deserialize<'de>>(path: &str, b: &[u8]) -> Result<T, PackageError> {
    serde_json::from_slice(b).map_err(|e| PackageError::Json { path: path.to_string(), message: e.to_string() })
}

fn safe(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('/') && !path.contains('\\') && !path.split('/').any(|s| s == ".." || s == "." || s.is_empty()) && !path.contains(':')
}

/// Reads and verifies a package (see the module docs for what is checked).
pub fn read_package(bytes: &[u8]) -> Result<Package, PackageError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))?;
    let mut names = BTreeSet::new();
    for i in 0..zip.len() {
        let f = zip.by_index(i)?;
        if f.is_dir() {
            continue;
        }
        let name = f.name()?.to_string();
        if !safe(&name) {
            return Err(PackageError::UnsafePath(name));
        }
        names.insert(name);
    }
    if !names.contains("manifest.json") {
        return Err(PackageError::NoManifest);
    }
    let manifest: Manifest = parse("manifest.json", &read_entry(&mut zip, "manifest.json", 64 * 1024 * 1024)?)?;
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(PackageError::Unsupported { format: manifest.format, version: manifest.version });
    }
    let listed: BTreeMap<&str, &ManifestFile> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for n in &names {
        if n != "manifest.json" && !listed.contains_key(n.as_str()) {
            return Err(PackageError::Unlisted { path: n.clone() });
        }
    }
    let total: u64 = manifest.files.iter().map(|f| f.size).fold(0u64, |a, b| a.saturating_add(b));
    if total > MAX_TOTAL_BYTES {
        return Err(PackageError::TooLarge { path: "(total)".into() });
    }
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for f in &manifest.files {
        if !safe(&f.path) {
            return Err(PackageError::UnsafePath(f.path.clone()));
        }
        if f.size > MAX_FILE_BYTES {
            return Err(PackageError::TooLarge { path: f.path.clone() });
        }
        if !names.contains(&f.path) {
            return Err(PackageError::Missing { path: f.path.clone() });
        }
        let b = read_entry(&mut zip, &f.path, f.size)?;
        if b.len() as u64 != f.size {
            return Err(PackageError::SizeMismatch { path: f.path.clone(), expected: f.size, actual: b.len() as u64 });
        }
        let actual = sha256_hex(&b);
        if !actual.eq_ignore_ascii_case(&f.sha256) {
            return Err(PackageError::HashMismatch { path: f.path.clone(), expected: f.sha256.clone(), actual });
        }
        contents.insert(f.path.clone(), b);
    }
    let mut archives = Vec::with_capacity(manifest.archives.len());
    for ma in &manifest.archives {
        let get = |name: &str| -> Result<(&[u8], String), PackageError> {
            let p = format!("{}/{name}", ma.dir);
            contents.get(&p).map(|b| (b.as_slice(), p.clone())).ok_or(PackageError::Missing { path: p })
        };
        let (b, p) = get("archive.json")?;
        let archive: Archive = parse(&p, b)?;
        let (b, p) = get("contacts.json")?;
        let contacts: Vec<Contact> = parse(&p, b)?;
        let (b, p) = get("timeline.json")?;
        let timeline: Vec<TimelineEntry> = parse(&p, b)?;
        let (b, p) = get("attachments.json")?;
        let metas: Vec<Attachment> = parse(&p, b)?;
        let mut attachments = Vec::with_capacity(metas.len());
        for meta in metas {
            let h = meta.sha256.to_ascii_lowercase();
            let path = format!("{}/attachments/{h}", ma.dir);
            let bytes = contents.get(&path).ok_or_else(|| PackageError::Missing { path: path.clone() })?;
            if sha256_hex(bytes) != h || bytes.len() as i64 != meta.size {
                return Err(PackageError::AttachmentMismatch { path, expected: meta.sha256.clone() });
            }
            attachments.push(PackageAttachment { meta, bytes: bytes.clone() });
        }
        archives.push(PackageArchive { archive, contacts, timeline, attachments });
    }
    Ok(Package { manifest, archives })
}
