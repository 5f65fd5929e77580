//! Backup and restore (备份与恢复): an online, consistent, encrypted backup of the database, the
//! attachments it references and the configuration in the data dir; verification without
//! restoring; restore into an empty data dir (and an empty PostgreSQL database); the schedule.
//!
//! A backup set is a directory `<backup dir>/<id>/`:
//!
//! ```text
//! set.json        plain: id, kind, time, engine, key id, sizes, SHA-256 of manifest.enc
//! manifest.enc    encrypted: the snapshot's counts and audit head, and for every file its
//!                 path in the data dir, size and SHA-256 (of the plain content)
//! db.enc          the database: an SQLite file, or a pg_dump custom-format archive
//! files/…​.enc     attachments/<2 hex>/<sha256>, dangan.key, audit-heads/*.txt
//! verify.json     plain: the last verification's time and result
//! ```
//!
//! Every `.enc` file is encrypted with ChaCha20-Poly1305 in the STREAM construction
//! (`aead::stream`, 64 KiB chunks, the last one marked, so truncation and reordering are
//! detected) under a per-file key HMAC-SHA256(backup key, label ‖ random salt ‖ path): a file
//! moved to another path does not decrypt. The set is written under `.tmp-<id>` and renamed when
//! complete, so a set that exists is whole.
//!
//! **The field-encryption key is in the backup** (`dangan.key`, encrypted with the backup key):
//! ID numbers and health data in the database are encrypted with it, and a backup that cannot be
//! read after the data dir is lost is no backup. So whoever holds a backup set *and* the backup
//! key holds the data; keep the backup key apart from the sets (not in the data dir, not in the
//! backup dir). Without a backup key no backup is made.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::generic_array::GenericArray;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit};
use chrono::{DateTime, FixedOffset, Utc};
use dangan_core::audit::{AuditAction, AuditEvent, Outcome};
use dangan_core::backup::{Retention, SetKind, SetRef};
use dangan_store::{Engine, Snapshot, SnapshotMethod, SnapshotStats, Store};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{App, AppError, Principal, Result};

type HmacSha256 = Hmac<Sha256>;

/// The advisory lock of the scheduled backup (one server of several runs it).
pub const BACKUP_LOCK: i64 = 0x44414e474142; // "DANGAB"
const MAGIC: &[u8; 8] = b"DANGANB1";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const SALT: usize = 32;
const NONCE: usize = 7;
const FORMAT: u32 = 1;

/// The key backups are encrypted with (32 bytes, from `DANGAN_BACKUP_KEY` or a key file).
#[derive(Clone)]
pub struct BackupKey([u8; 32]);

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupKey { .. }")
    }
}

impl BackupKey {
    pub fn from_hex(s: &str) -> std::result::Result<Self, String> {
        let bytes = hex::decode(s.trim()).map_err(|e| format!("backup key is not hex: {e}"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| format!("backup key must be 32 bytes (64 hex digits), got {} bytes", b.len()))?;
        if key == [0; 32] {
            return Err("backup key is all zeros".into());
        }
        Ok(BackupKey(key))
    }

    pub fn from_file(path: &Path) -> std::result::Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read backup key file {}: {e}", path.display()))?;
        Self::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn generate_hex() -> String {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        hex::encode(k)
    }

    /// A public fingerprint of the key (in `set.json`), to tell "wrong key" from "damaged".
    pub fn id(&self) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(b"dangan-backup-key-id-v1");
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    fn file_key(&self, salt: &[u8], path: &str) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(b"dangan-backup-file-v1\0");
        mac.update(salt);
        mac.update(b"\0");
        mac.update(path.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Where and how backups are made; part of `Settings`.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    pub dir: PathBuf,
    /// Without a key, backups are refused (and the schedule does nothing).
    pub key: Option<BackupKey>,
    pub retention: Retention,
    /// Scheduled backups run from this hour (local time) on, once a day.
    pub hour: u32,
    /// The schedule's local time (the server's offset by default).
    pub utc_offset: FixedOffset,
    pub sqlite_method: SnapshotMethod,
}

impl BackupSettings {
    pub fn new(dir: PathBuf) -> Self {
        BackupSettings { dir, key: None, retention: Retention::default(), hour: 2, utc_offset: FixedOffset::east_opt(0).expect("zero offset"), sqlite_method: SnapshotMethod::default() }
    }
}

/// What went wrong with a backup, restore or verification, in words that name the problem.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The set is damaged, incomplete or needs another key.
    #[error("{0}")]
    Invalid(String),
    /// Refused before anything was done (no key, target not empty, …).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
}

impl From<BackupError> for AppError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Invalid(m) | BackupError::Refused(m) => AppError::BadRequest(m),
            BackupError::Io(m) => AppError::Internal(m),
        }
    }
}

type BResult<T> = std::result::Result<T, BackupError>;

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BackupError {
    move |e| BackupError::Io(format!("{what}: {e}"))
}

/// `set.json`: what a listing needs, readable without the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetHeader {
    pub format: u32,
    pub id: String,
    pub kind: SetKind,
    pub created_at: DateTime<Utc>,
    pub engine: String,
    pub key_id: String,
    pub files: usize,
    /// Bytes of the plain content.
    pub bytes: u64,
    /// Bytes stored (encrypted).
    pub stored_bytes: u64,
    pub manifest_sha256: String,
}

/// One file of a set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Where it goes: `dangan.db` / `postgres.dump` for the database, else the path in the data dir.
    pub path: String,
    /// Where it is in the set (relative to the set's directory).
    pub stored: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub kind: SetKind,
    pub created_at: DateTime<Utc>,
    pub engine: String,
    pub sqlite_method: Option<SnapshotMethod>,
    pub stats: SnapshotStats,
    /// The database file (first) and every other file.
    pub files: Vec<FileEntry>,
}

/// The last verification of a set (`verify.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyRecord {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub problem: Option<String>,
}

/// A set as listed (API, UI, CLI).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackupSetInfo {
    pub id: String,
    /// `daily`, `monthly` or `manual`.
    #[schema(value_type = String)]
    pub kind: SetKind,
    pub created_at: DateTime<Utc>,
    pub engine: String,
    pub files: usize,
    pub bytes: u64,
    pub stored_bytes: u64,
    /// Whether the last verification passed; `None` if never verified.
    pub verified: Option<bool>,
    pub verified_at: Option<DateTime<Utc>>,
    pub problem: Option<String>,
}

/// The result of `verify`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyOutcome {
    pub id: String,
    pub ok: bool,
    pub files: usize,
    pub bytes: u64,
    pub problem: Option<String>,
    pub seconds: f64,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub id: String,
    pub files: usize,
    pub bytes: u64,
    pub stats: SnapshotStats,
    pub seconds: f64,
}

// ---------------------------------------------------------------------------------------------
// Encrypted files

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Encrypts `input` for `path` into `out`; returns the plain size and SHA-256.
fn encrypt_stream(key: &BackupKey, path: &str, input: &mut impl Read, out: &mut impl Write) -> std::io::Result<(u64, String)> {
    let mut salt = [0u8; SALT];
    let mut nonce = [0u8; NONCE];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    out.write_all(MAGIC)?;
    out.write_all(&salt)?;
    out.write_all(&nonce)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.file_key(&salt, path)));
    let mut enc = EncryptorBE32::from_aead(cipher, GenericArray::from_slice(&nonce));
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let mut next = vec![0u8; CHUNK];
    let mut n = read_full(input, &mut buf)?;
    loop {
        hash.update(&buf[..n]);
        size += n as u64;
        // A full chunk is the last only if nothing follows it.
        let m = if n == CHUNK { read_full(input, &mut next)? } else { 0 };
        if m == 0 {
            let ct = enc.encrypt_last(&buf[..n]).map_err(|_| std::io::Error::other("encryption failed"))?;
            out.write_all(&ct)?;
            break;
        }
        let ct = enc.encrypt_next(&buf[..n]).map_err(|_| std::io::Error::other("encryption failed"))?;
        out.write_all(&ct)?;
        std::mem::swap(&mut buf, &mut next);
        n = m;
    }
    Ok((size, hex::encode(hash.finalize())))
}

/// Decrypts a stored file into `sink`; returns the plain size and SHA-256. An error names what
/// failed (wrong magic, authentication, truncation).
fn decrypt_stream(key: &BackupKey, path: &str, input: &mut impl Read, sink: &mut impl Write) -> BResult<(u64, String)> {
    let bad = |m: &str| BackupError::Invalid(m.to_string());
    let mut head = [0u8; 8 + SALT + NONCE];
    let got = read_full(input, &mut head).map_err(io("read"))?;
    if got < head.len() || &head[..8] != MAGIC {
        return Err(bad("not a Dangan backup file (header missing or damaged) / 文件头损坏"));
    }
    let salt = &head[8..8 + SALT];
    let nonce = &head[8 + SALT..];
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.file_key(salt, path)));
    let mut dec = Some(DecryptorBE32::from_aead(cipher, GenericArray::from_slice(nonce)));
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK + TAG];
    let mut next = vec![0u8; CHUNK + TAG];
    let mut n = read_full(input, &mut buf).map_err(io("read"))?;
    let auth = || bad("fails authentication: the file was altered or truncated, or the key is not the one it was made with / 校验失败：文件被改动或截断，或密钥不符");
    loop {
        let m = if n == CHUNK + TAG { read_full(input, &mut next).map_err(io("read"))? } else { 0 };
        let pt = if m == 0 {
            dec.take().expect("decryptor").decrypt_last(&buf[..n]).map_err(|_| auth())?
        } else {
            dec.as_mut().expect("decryptor").decrypt_next(&buf[..n]).map_err(|_| auth())?
        };
        hash.update(&pt);
        size += pt.len() as u64;
        sink.write_all(&pt).map_err(io("write"))?;
        if m == 0 {
            break;
        }
        std::mem::swap(&mut buf, &mut next);
        n = m;
    }
    Ok((size, hex::encode(hash.finalize())))
}

fn encrypt_file(key: &BackupKey, path: &str, src: &Path, dst: &Path) -> BResult<(u64, String, u64)> {
    if let Some(dir) = dst.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir.display()))?;
    }
    let mut input = BufReader::with_capacity(256 * 1024, File::open(src).map_err(io(format!("cannot read {}", src.display())))?);
    let file = File::create(dst).map_err(io(dst.display()))?;
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let (size, sha) = encrypt_stream(key, path, &mut input, &mut out).map_err(io(format!("encrypting {}", src.display())))?;
    let file = out.into_inner().map_err(|e| BackupError::Io(format!("{}: {}", dst.display(), e.error())))?;
    file.sync_all().map_err(io(dst.display()))?;
    let stored = file.metadata().map_err(io(dst.display()))?.len();
    Ok((size, sha, stored))
}

fn encrypt_bytes_to(key: &BackupKey, path: &str, bytes: &[u8], dst: &Path) -> BResult<(u64, String, u64)> {
    if let Some(dir) = dst.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir.display()))?;
    }
    let mut out = Vec::with_capacity(bytes.len() + 128);
    let (size, sha) = encrypt_stream(key, path, &mut &bytes[..], &mut out).map_err(io("encrypt"))?;
    let mut f = File::create(dst).map_err(io(dst.display()))?;
    f.write_all(&out).map_err(io(dst.display()))?;
    f.sync_all().map_err(io(dst.display()))?;
    Ok((size, sha, out.len() as u64))
}

fn sha256_file(p: &Path) -> BResult<String> {
    let mut f = BufReader::new(File::open(p).map_err(io(p.display()))?);
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(io(p.display()))?;
    Ok(hex::encode(h.finalize()))
}

fn sync_dir(p: &Path) {
    if let Ok(d) = File::open(p) {
        let _ = d.sync_all();
    }
}

/// A path from a manifest is used only if it stays inside its directory.
fn safe_rel(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

// ---------------------------------------------------------------------------------------------
// Reading a set

fn read_header(set: &Path) -> BResult<SetHeader> {
    let p = set.join("set.json");
    let text = std::fs::read_to_string(&p).map_err(|e| BackupError::Invalid(format!("{}: not a backup set (set.json: {e}) / 不是备份集", set.display())))?;
    serde_json::from_str(&text).map_err(|e| BackupError::Invalid(format!("set.json is damaged: {e} / set.json 已损坏")))
}

/// Opens a set's manifest: checks the key, the manifest's checksum and its authentication.
fn open_manifest(set: &Path, key: &BackupKey) -> BResult<(SetHeader, Manifest)> {
    let header = read_header(set)?;
    if header.key_id != key.id() {
        return Err(BackupError::Invalid(format!(
            "wrong backup key: set {} was made with key {}, the key given is {} / 备份密钥不符",
            header.id,
            header.key_id,
            key.id()
        )));
    }
    let mpath = set.join("manifest.enc");
    let actual = sha256_file(&mpath).map_err(|e| BackupError::Invalid(format!("manifest.enc is missing: {e} / 清单文件缺失")))?;
    if actual != header.manifest_sha256 {
        return Err(BackupError::Invalid(format!("manifest.enc is damaged: SHA-256 {actual}, expected {} / 清单文件已损坏", header.manifest_sha256)));
    }
    let mut plain = Vec::new();
    let mut f = BufReader::new(File::open(&mpath).map_err(io(mpath.display()))?);
    decrypt_stream(key, "manifest.json", &mut f, &mut plain).map_err(|e| BackupError::Invalid(format!("manifest.enc: {e}")))?;
    let manifest: Manifest = serde_json::from_slice(&plain).map_err(|e| BackupError::Invalid(format!("manifest does not parse: {e} / 清单无法解析")))?;
    if manifest.id != header.id {
        return Err(BackupError::Invalid(format!("set.json names set {} but the manifest is of set {} / 备份集标识不一致", header.id, manifest.id)));
    }
    for f in &manifest.files {
        if !safe_rel(&f.path) || !safe_rel(&f.stored) {
            return Err(BackupError::Invalid(format!("manifest names an unsafe path {:?} / 清单含不安全路径", f.path)));
        }
    }
    Ok((header, manifest))
}

/// Checks one stored file against its manifest entry, writing the plain content to `sink`.
fn check_file(set: &Path, key: &BackupKey, f: &FileEntry, sink: &mut impl Write) -> BResult<()> {
    let stored = set.join(&f.stored);
    let file = File::open(&stored).map_err(|e| BackupError::Invalid(format!("{}: missing from the set ({e}) / 文件缺失", f.path)))?;
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let (size, sha) = decrypt_stream(key, &f.path, &mut input, sink).map_err(|e| BackupError::Invalid(format!("{}: {e}", f.path)))?;
    if size != f.size || sha != f.sha256 {
        return Err(BackupError::Invalid(format!("{}: checksum mismatch (size {size}, SHA-256 {sha}; the manifest says size {}, SHA-256 {}) / 校验和不符", f.path, f.size, f.sha256)));
    }
    Ok(())
}

/// Every file under `set` that the manifest does not list (besides set.json, manifest.enc, verify.json).
fn unlisted_files(set: &Path, manifest: &Manifest) -> BResult<Vec<String>> {
    let listed: std::collections::HashSet<&str> = manifest.files.iter().map(|f| f.stored.as_str()).collect();
    let mut out = Vec::new();
    let mut stack = vec![set.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(io(dir.display()))? {
            let e = e.map_err(io(dir.display()))?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(set).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            if !listed.contains(rel.as_str()) && !["set.json", "manifest.enc", "verify.json"].contains(&rel.as_str()) {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Verifies a whole set: key, manifest, every file's authentication, size and checksum, nothing
/// unlisted. Returns the manifest; the error names the first problem.
pub fn verify_set(set: &Path, key: &BackupKey) -> BResult<Manifest> {
    let (_, manifest) = open_manifest(set, key)?;
    for f in &manifest.files {
        check_file(set, key, f, &mut std::io::sink())?;
    }
    let extra = unlisted_files(set, &manifest)?;
    if let Some(x) = extra.first() {
        return Err(BackupError::Invalid(format!("{x}: a file the manifest does not list / 清单外的文件 ({} in all)", extra.len())));
    }
    Ok(manifest)
}

fn write_verify_record(set: &Path, rec: &VerifyRecord) {
    let _ = std::fs::write(set.join("verify.json"), serde_json::to_vec_pretty(rec).unwrap_or_default());
}

/// The sets in `dir`, newest first (directories with a readable set.json; others are skipped).
pub fn list_sets(dir: &Path) -> Vec<BackupSetInfo> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<BackupSetInfo> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let h = read_header(&e.path()).ok()?;
            let v: Option<VerifyRecord> = std::fs::read(e.path().join("verify.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
            Some(BackupSetInfo {
                id: h.id,
                kind: h.kind,
                created_at: h.created_at,
                engine: h.engine,
                files: h.files,
                bytes: h.bytes,
                stored_bytes: h.stored_bytes,
                verified: v.as_ref().map(|v| v.ok),
                verified_at: v.as_ref().map(|v| v.at),
                problem: v.and_then(|v| v.problem),
            })
        })
        .collect();
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    out
}

/// Where a set with this id is (refusing ids that are paths).
fn set_dir(dir: &Path, id: &str) -> BResult<PathBuf> {
    if id.is_empty() || id.starts_with('.') || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(BackupError::Refused(format!("not a backup set id: {id:?}")));
    }
    let p = dir.join(id);
    if !p.join("set.json").exists() {
        return Err(BackupError::Refused(format!("no backup set {id} in {} / 备份集不存在", dir.display())));
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Making a set

struct Made {
    header: SetHeader,
    manifest: Manifest,
}

/// Files of the data dir that are configuration (kept in every set): the field key is written
/// from the running configuration, audit heads from `audit-heads/`.
fn config_files(data_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(data_dir.join("audit-heads")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if e.path().is_file() && name.ends_with(".txt") {
                out.push((format!("audit-heads/{name}"), e.path()));
            }
        }
    }
    out.sort();
    out
}

fn attachment_rel(sha: &str) -> String {
    format!("attachments/{}/{sha}", &sha[..2.min(sha.len())])
}

impl App {
    fn backup_key(&self) -> Result<&BackupKey> {
        self.settings.backup.key.as_ref().ok_or_else(|| {
            AppError::BadRequest("no backup key is configured (DANGAN_BACKUP_KEY or DANGAN_BACKUP_KEY_FILE; `dangan backup keygen` makes one) / 未配置备份密钥".into())
        })
    }

    pub fn backup_dir(&self) -> &Path {
        &self.settings.backup.dir
    }

    /// Makes a backup set in `out` (the configured backup dir if `None`) while the server runs,
    /// and records `system.backup` (with the set's id, sizes and manifest checksum, or the
    /// failure). `who` is the principal, or `None` for the command line / scheduler (`by`).
    pub async fn create_backup(&self, who: Option<&Principal>, by: &str, kind: SetKind, out: Option<&Path>, now: DateTime<Utc>) -> Result<BackupSetInfo> {
        let _running = self.backup_running.lock().await;
        let key = self.backup_key()?.clone();
        let dir = out.map(Path::to_path_buf).unwrap_or_else(|| self.settings.backup.dir.clone());
        let mut event = match who {
            Some(p) => self.event(p, AuditAction::Backup),
            None => self.system_event(AuditAction::Backup, by),
        };
        let t = std::time::Instant::now();
        match self.make_set(&key, kind, &dir, now).await {
            Ok(made) => {
                let h = &made.header;
                let db = made.manifest.files.first();
                event = event.with_detail(serde_json::json!({
                    "id": h.id, "kind": kind.as_str(), "taken_at": h.created_at, "engine": h.engine, "files": h.files, "bytes": h.bytes, "stored_bytes": h.stored_bytes,
                    "database_bytes": db.map(|f| f.size), "attachments": made.manifest.stats.attachments, "archives": made.manifest.stats.archives,
                    "audit_head_seq": made.manifest.stats.audit_head_seq, "manifest_sha256": h.manifest_sha256, "seconds": t.elapsed().as_secs_f64(),
                    "dir": dir.display().to_string(),
                }));
                self.record(event).await?;
                Ok(list_sets(&dir).into_iter().find(|s| s.id == made.header.id).ok_or_else(|| AppError::Internal("the new set is not listed".into()))?)
            }
            Err(e) => {
                event.outcome = Outcome::Failed;
                event = event.with_detail(serde_json::json!({ "kind": kind.as_str(), "error": e.to_string(), "dir": dir.display().to_string() }));
                let _ = self.record(event).await;
                Err(e.into())
            }
        }
    }

    async fn make_set(&self, key: &BackupKey, kind: SetKind, dir: &Path, now: DateTime<Utc>) -> BResult<Made> {
        let id = format!("{}-{}-{:04x}", now.format("%Y%m%dT%H%M%SZ"), kind.as_str(), rand::random::<u16>());
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create backup dir {}", dir.display())))?;
        let staging = dir.join(format!(".tmp-{id}"));
        let data_dir = self.settings.data_dir.clone();
        let engine = self.store.engine();
        let db_tmp = data_dir.join(format!(".backup-{id}.tmp"));
        let result = self.make_set_in(key, kind, &id, &staging, &db_tmp, now, engine).await;
        let _ = std::fs::remove_file(&db_tmp);
        match result {
            Ok(made) => {
                let final_dir = dir.join(&id);
                std::fs::rename(&staging, &final_dir).map_err(io(format!("cannot rename {} to {}", staging.display(), final_dir.display())))?;
                sync_dir(dir);
                Ok(made)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn make_set_in(&self, key: &BackupKey, kind: SetKind, id: &str, staging: &Path, db_tmp: &Path, now: DateTime<Utc>, engine: Engine) -> BResult<Made> {
        std::fs::create_dir_all(staging).map_err(io(staging.display()))?;
        let data_dir = self.settings.data_dir.clone();
        // Configuration first: every exported audit head then names a record the database
        // snapshot (taken after) holds, so `audit verify` passes on the restored data.
        let heads = config_files(&data_dir);
        let field_key = self.settings.crypto.master_key_hex();
        let (k, st) = (key.clone(), staging.to_path_buf());
        let mut files: Vec<FileEntry> = tokio::task::spawn_blocking(move || -> BResult<Vec<FileEntry>> {
            let mut out = Vec::new();
            let stored = "files/dangan.key.enc".to_string();
            let (size, sha256, _) = encrypt_bytes_to(&k, "dangan.key", field_key.as_bytes(), &st.join(&stored))?;
            out.push(FileEntry { path: "dangan.key".into(), stored, size, sha256 });
            for (rel, src) in heads {
                let stored = format!("files/{rel}.enc");
                let (size, sha256, _) = encrypt_file(&k, &rel, &src, &st.join(&stored))?;
                out.push(FileEntry { path: rel, stored, size, sha256 });
            }
            Ok(out)
        })
        .await
        .map_err(|e| BackupError::Io(format!("worker: {e}")))??;

        // The database, as of one instant.
        let method = self.settings.backup.sqlite_method;
        let snap: Snapshot = self.store.snapshot(db_tmp, method).await.map_err(|e| BackupError::Io(format!("database snapshot failed: {e}")))?;
        let db_path = match engine {
            Engine::Sqlite => "dangan.db",
            Engine::Postgres => "postgres.dump",
        };
        let (k, st, src) = (key.clone(), staging.to_path_buf(), db_tmp.to_path_buf());
        let db_entry = tokio::task::spawn_blocking(move || -> BResult<FileEntry> {
            let (size, sha256, _) = encrypt_file(&k, db_path, &src, &st.join("db.enc"))?;
            Ok(FileEntry { path: db_path.into(), stored: "db.enc".into(), size, sha256 })
        })
        .await
        .map_err(|e| BackupError::Io(format!("worker: {e}")))??;
        let _ = std::fs::remove_file(db_tmp);

        // The attachments the snapshot references. Files are content-addressed and written
        // before their row commits, so each one is there; its content is checked by its name.
        let (k, st, dd, hashes) = (key.clone(), staging.to_path_buf(), data_dir.clone(), snap.attachments.clone());
        let att_entries = tokio::task::spawn_blocking(move || -> BResult<Vec<FileEntry>> {
            let mut out = Vec::with_capacity(hashes.len());
            for sha in hashes {
                let rel = attachment_rel(&sha);
                let src = dd.join(&rel);
                if !src.exists() {
                    return Err(BackupError::Io(format!("attachment file missing from the data dir: {} / 附件文件缺失", src.display())));
                }
                let stored = format!("files/{rel}.enc");
                let (size, sha256, _) = encrypt_file(&k, &rel, &src, &st.join(&stored))?;
                if sha256 != sha {
                    return Err(BackupError::Io(format!("attachment file {} is damaged in the data dir (its content has SHA-256 {sha256}) / 附件文件已损坏", src.display())));
                }
                out.push(FileEntry { path: rel, stored, size, sha256 });
            }
            Ok(out)
        })
        .await
        .map_err(|e| BackupError::Io(format!("worker: {e}")))??;

        let mut all = vec![db_entry];
        all.append(&mut files);
        all.extend(att_entries);
        let manifest = Manifest {
            format: FORMAT,
            id: id.to_string(),
            kind,
            created_at: now,
            engine: engine_name(engine).into(),
            sqlite_method: (engine == Engine::Sqlite).then_some(method),
            stats: snap.stats,
            files: all,
        };
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io(e.to_string()))?;
        let mpath = staging.join("manifest.enc");
        let (k, mp) = (key.clone(), mpath.clone());
        tokio::task::spawn_blocking(move || encrypt_bytes_to(&k, "manifest.json", &json, &mp)).await.map_err(|e| BackupError::Io(format!("worker: {e}")))??;
        let manifest_sha256 = sha256_file(&mpath)?;
        let stored_bytes: u64 = walk_size(staging);
        let header = SetHeader {
            format: FORMAT,
            id: id.to_string(),
            kind,
            created_at: now,
            engine: manifest.engine.clone(),
            key_id: key.id(),
            files: manifest.files.len(),
            bytes: manifest.files.iter().map(|f| f.size).sum(),
            stored_bytes,
            manifest_sha256,
        };
        let hp = staging.join("set.json");
        let mut f = File::create(&hp).map_err(io(hp.display()))?;
        f.write_all(&serde_json::to_vec_pretty(&header).map_err(|e| BackupError::Io(e.to_string()))?).map_err(io(hp.display()))?;
        f.sync_all().map_err(io(hp.display()))?;
        for d in ["files/attachments", "files/audit-heads", "files", ""] {
            sync_dir(&staging.join(d));
        }
        Ok(Made { header, manifest })
    }

    /// The sets in the backup dir, newest first (system administrators only).
    pub async fn list_backups(&self, user: &Principal) -> Result<Vec<BackupSetInfo>> {
        self.require_admin(user, "list").await?;
        let dir = self.settings.backup.dir.clone();
        tokio::task::spawn_blocking(move || list_sets(&dir)).await.map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Runs a manual backup now (system administrators only).
    pub async fn run_backup(&self, user: &Principal) -> Result<BackupSetInfo> {
        self.require_admin(user, "run").await?;
        self.create_backup(Some(user), "", SetKind::Manual, None, Utc::now()).await
    }

    /// Verifies a set in the backup dir (system administrators only); recorded in the trail.
    pub async fn verify_backup(&self, user: &Principal, id: &str) -> Result<VerifyOutcome> {
        self.require_admin(user, "verify").await?;
        let out = self.verify_backup_at(&self.settings.backup.dir.clone(), id).await?;
        let mut e = self.event(user, AuditAction::BackupVerify).with_detail(serde_json::json!({ "id": out.id, "ok": out.ok, "problem": out.problem, "files": out.files, "bytes": out.bytes }));
        if !out.ok {
            e.outcome = Outcome::Failed;
        }
        self.record(e).await?;
        Ok(out)
    }

    /// Verifies set `id` in `dir` and records the result in the set's `verify.json`.
    pub async fn verify_backup_at(&self, dir: &Path, id: &str) -> Result<VerifyOutcome> {
        let key = self.backup_key()?.clone();
        let set = set_dir(dir, id)?;
        let id = id.to_string();
        tokio::task::spawn_blocking(move || verify_recorded(&set, &key, &id)).await.map_err(|e| AppError::Internal(e.to_string()))
    }

    async fn require_admin(&self, user: &Principal, what: &str) -> Result<()> {
        if user.active && user.has_role(dangan_core::Role::SystemAdmin) {
            return Ok(());
        }
        let mut e = self.event(user, AuditAction::Backup).with_detail(serde_json::json!({ "op": what }));
        e.outcome = Outcome::Denied;
        self.record(e).await?;
        Err(AppError::Forbidden)
    }

    /// The scheduled job (called every minute by the server with the time): if a daily or
    /// monthly backup is due and this server holds the backup lock, makes it, verifies it and
    /// applies retention. Returns the set made, if any.
    pub async fn scheduled_backup(&self, now: DateTime<Utc>) -> Result<Option<BackupSetInfo>> {
        if self.settings.backup.key.is_none() {
            return Ok(None);
        }
        let Some(lock) = self.store.try_job_lock(BACKUP_LOCK).await? else { return Ok(None) };
        let result = self.scheduled_backup_locked(now).await;
        lock.release().await;
        result
    }

    async fn scheduled_backup_locked(&self, now: DateTime<Utc>) -> Result<Option<BackupSetInfo>> {
        let b = &self.settings.backup;
        let local = |t: DateTime<Utc>| t.with_timezone(&b.utc_offset).naive_local();
        let dir = b.dir.clone();
        let d2 = dir.clone();
        let sets = tokio::task::spawn_blocking(move || list_sets(&d2)).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let mut refs: Vec<SetRef> = sets.iter().map(|s| SetRef { id: s.id.clone(), kind: s.kind, taken: local(s.created_at) }).collect();
        // Servers sharing a PostgreSQL database may keep their sets in different directories:
        // the trail says which scheduled backups were made, wherever.
        let q = dangan_store::AuditQuery { action: Some(AuditAction::Backup.code().into()), outcome: Some("allowed".into()), limit: 500, ..Default::default() };
        for r in self.store.list_audit(&q).await? {
            let d: serde_json::Value = serde_json::from_str(&r.event.detail).unwrap_or_default();
            let taken = d["taken_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
            if let (Some(kind), Some(id), Some(taken)) = (d["kind"].as_str().and_then(SetKind::parse), d["id"].as_str(), taken) {
                if kind != SetKind::Manual && !refs.iter().any(|s| s.id == id) {
                    refs.push(SetRef { id: id.into(), kind, taken: local(taken) });
                }
            }
        }
        let Some(kind) = dangan_core::backup::due(local(now), b.hour, &refs) else { return Ok(None) };
        clean_stale_staging(&dir, now);
        let made = self.create_backup(None, "scheduler", kind, None, now).await?;
        let v = self.verify_backup_at(&dir, &made.id).await?;
        if !v.ok {
            tracing::error!("the scheduled backup {} does not verify: {:?}", made.id, v.problem);
        }
        self.prune_backups(now).await?;
        Ok(list_sets(&dir).into_iter().find(|s| s.id == made.id))
    }

    /// Removes the sets retention no longer keeps (recorded in the trail); returns their ids.
    pub async fn prune_backups(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let b = &self.settings.backup;
        let sets = list_sets(&b.dir);
        let refs: Vec<SetRef> = sets.iter().map(|s| SetRef { id: s.id.clone(), kind: s.kind, taken: s.created_at.with_timezone(&b.utc_offset).naive_local() }).collect();
        let gone = dangan_core::backup::expired(&refs, &b.retention);
        for id in &gone {
            if let Err(e) = std::fs::remove_dir_all(b.dir.join(id)) {
                tracing::warn!("cannot remove backup set {id}: {e}");
            }
        }
        if !gone.is_empty() {
            let e = self.system_event(AuditAction::Backup, "scheduler").with_detail(serde_json::json!({ "op": "prune", "removed": gone, "retention": b.retention, "at": now }));
            self.record(e).await?;
        }
        Ok(gone)
    }
}

fn verify_recorded(set: &Path, key: &BackupKey, id: &str) -> VerifyOutcome {
    let t = std::time::Instant::now();
    let result = verify_set(set, key);
    let (ok, problem, files, bytes) = match &result {
        Ok(m) => (true, None, m.files.len(), m.files.iter().map(|f| f.size).sum()),
        Err(e) => (false, Some(e.to_string()), 0, 0),
    };
    write_verify_record(set, &VerifyRecord { at: Utc::now(), ok, problem: problem.clone() });
    VerifyOutcome { id: id.to_string(), ok, files, bytes, problem, seconds: t.elapsed().as_secs_f64() }
}

/// Removes `.tmp-*` directories a crashed backup left (older than a day).
fn clean_stale_staging(dir: &Path, now: DateTime<Utc>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if !e.file_name().to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let old = e.metadata().and_then(|m| m.modified()).map(|m| DateTime::<Utc>::from(m) < now - chrono::Duration::days(1)).unwrap_or(false);
        if old {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn walk_size(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                match e.metadata() {
                    Ok(m) if m.is_dir() => stack.push(e.path()),
                    Ok(m) => total += m.len(),
                    Err(_) => {}
                }
            }
        }
    }
    total
}

pub fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

/// Verifies a set given by its directory (the CLI's `backup verify SET`).
pub fn verify_path(set: &Path, key: &BackupKey) -> VerifyOutcome {
    let id = read_header(set).map(|h| h.id).unwrap_or_else(|_| set.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    verify_recorded(set, key, &id)
}

// ---------------------------------------------------------------------------------------------
// Restore

/// A directory that may receive a restore: missing, or empty.
fn check_empty_dir(p: &Path) -> BResult<()> {
    match std::fs::read_dir(p) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(BackupError::Refused(format!("the target data dir {} is not empty; restore only into an empty or new directory / 目标数据目录不是空的", p.display())));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Refused(format!("cannot read the target data dir {}: {e}", p.display()))),
    }
}

/// Restores `set` into the empty (or missing) `data_dir`, and for a PostgreSQL set into the
/// empty database at `database_url`. Everything is decrypted and checked into a staging
/// directory beside the target first; only a set that verifies completely is moved into place,
/// so a damaged set leaves the target as it was. Records `system.restore` in the restored
/// database's audit chain.
pub async fn restore(set: &Path, key: &BackupKey, data_dir: &Path, database_url: Option<&str>) -> BResult<RestoreReport> {
    let t = std::time::Instant::now();
    check_empty_dir(data_dir)?;
    let (header, manifest) = open_manifest(set, key)?;
    let pg_url = match (manifest.engine.as_str(), database_url.map(str::trim).filter(|u| !u.is_empty())) {
        ("sqlite", None) => None,
        ("sqlite", Some(_)) => return Err(BackupError::Refused("this set is of an SQLite database; restore it without --database-url / 这是 SQLite 备份".into())),
        ("postgres", Some(url)) => {
            let n = dangan_store::postgres::user_table_count(url).await.map_err(|e| BackupError::Refused(format!("cannot reach the target database: {e}")))?;
            if n > 0 {
                return Err(BackupError::Refused(format!("the target database is not empty ({n} tables); restore needs an empty database / 目标数据库不是空的")));
            }
            Some(url.to_string())
        }
        ("postgres", None) => return Err(BackupError::Refused("this set is of a PostgreSQL database: give the empty target database with --database-url / 请指定空的目标数据库".into())),
        (other, _) => return Err(BackupError::Invalid(format!("unknown engine {other:?} in the manifest"))),
    };
    let parent = match data_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(parent.display()))?;
    let staging = parent.join(format!(".dangan-restore-{}-{:08x}", header.id, rand::random::<u32>()));
    let result = restore_staged(set, key, &manifest, &staging, pg_url.as_deref()).await;
    let result = match result {
        Ok(()) => move_into_place(&staging, data_dir),
        Err(e) => Err(e),
    };
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    Ok(RestoreReport { id: header.id, files: manifest.files.len(), bytes: manifest.files.iter().map(|f| f.size).sum(), stats: manifest.stats, seconds: t.elapsed().as_secs_f64() })
}

async fn restore_staged(set: &Path, key: &BackupKey, manifest: &Manifest, staging: &Path, pg_url: Option<&str>) -> BResult<()> {
    std::fs::create_dir_all(staging).map_err(io(staging.display()))?;
    let (s, k, m, st) = (set.to_path_buf(), key.clone(), manifest.clone(), staging.to_path_buf());
    // Every file decrypted and checked before anything is put in place.
    tokio::task::spawn_blocking(move || -> BResult<()> {
        for f in &m.files {
            let dst = st.join(&f.path);
            if let Some(d) = dst.parent() {
                std::fs::create_dir_all(d).map_err(io(d.display()))?;
            }
            let mut out = BufWriter::with_capacity(256 * 1024, File::create(&dst).map_err(io(dst.display()))?);
            check_file(&s, &k, f, &mut out)?;
            let file = out.into_inner().map_err(|e| BackupError::Io(format!("{}: {}", dst.display(), e.error())))?;
            file.sync_all().map_err(io(dst.display()))?;
        }
        let extra = unlisted_files(&s, &m)?;
        if let Some(x) = extra.first() {
            return Err(BackupError::Invalid(format!("{x}: a file the manifest does not list / 清单外的文件")));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(st.join("dangan.key"), std::fs::Permissions::from_mode(0o600));
        }
        Ok(())
    })
    .await
    .map_err(|e| BackupError::Io(format!("worker: {e}")))??;

    let event = |store_engine: &str| {
        let mut e = AuditEvent::new(AuditAction::Restore, Utc::now());
        e.username = "cli".into();
        e.detail = serde_json::json!({
            "id": manifest.id, "kind": manifest.kind.as_str(), "taken_at": manifest.created_at, "engine": store_engine,
            "files": manifest.files.len(), "audit_head_seq": manifest.stats.audit_head_seq, "audit_head_hash": manifest.stats.audit_head_hash,
        })
        .to_string();
        e
    };
    match pg_url {
        None => {
            let store = dangan_store::sqlite::SqliteStore::open(&staging.join("dangan.db")).map_err(|e| BackupError::Invalid(format!("the restored database does not open: {e}")))?;
            record_restore(&store, event("sqlite"), &manifest.stats).await?;
            drop(store);
        }
        Some(url) => {
            let dump = staging.join("postgres.dump");
            dangan_store::postgres::restore_dump(url, &dump).await.map_err(|e| BackupError::Io(format!("restoring the database failed, nothing was kept: {e}")))?;
            let _ = std::fs::remove_file(&dump);
            let store = dangan_store::postgres::PgStore::connect(url).await.map_err(|e| BackupError::Io(format!("the restored database does not open: {e}")))?;
            record_restore(&store, event("postgres"), &manifest.stats).await?;
        }
    }
    Ok(())
}

/// Checks that the restored database is the snapshot the manifest describes, brings its schema
/// up to date and records the restore in its audit chain.
async fn record_restore(store: &dyn Store, event: AuditEvent, expected: &SnapshotStats) -> BResult<()> {
    let head = store.audit_head().await.map_err(|e| BackupError::Invalid(format!("the restored database cannot be read: {e}")))?;
    let (seq, hash) = head.map(|r| (r.seq, r.hash)).unwrap_or((0, String::new()));
    if seq != expected.audit_head_seq || hash != expected.audit_head_hash {
        return Err(BackupError::Invalid(format!("the restored database's audit head ({seq}) is not the one the manifest names ({}) / 审计链头不符", expected.audit_head_seq)));
    }
    store.migrate().await.map_err(|e| BackupError::Io(format!("migrating the restored database: {e}")))?;
    store.append_audit(vec![event]).await.map_err(|e| BackupError::Io(format!("recording the restore in the audit trail: {e}")))
}

/// Moves the checked staging directory to `target` (missing or empty).
fn move_into_place(staging: &Path, target: &Path) -> BResult<()> {
    check_empty_dir(target)?;
    if target.exists() {
        // An empty directory (maybe a mount point): move the contents.
        for e in std::fs::read_dir(staging).map_err(io(staging.display()))? {
            let e = e.map_err(io(staging.display()))?;
            std::fs::rename(e.path(), target.join(e.file_name())).map_err(io(format!("moving into {}", target.display())))?;
        }
        std::fs::remove_dir(staging).map_err(io(staging.display()))?;
    } else {
        std::fs::rename(staging, target).map_err(io(format!("moving into {}", target.display())))?;
    }
    sync_dir(target);
    if let Some(p) = target.parent() {
        sync_dir(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BackupKey {
        BackupKey::from_hex(&BackupKey::generate_hex()).unwrap()
    }

    fn roundtrip(k: &BackupKey, data: &[u8]) -> Vec<u8> {
        let mut ct = Vec::new();
        let (n, sha) = encrypt_stream(k, "a/b", &mut &data[..], &mut ct).unwrap();
        assert_eq!(n, data.len() as u64);
        let mut pt = Vec::new();
        let (m, sha2) = decrypt_stream(k, "a/b", &mut &ct[..], &mut pt).unwrap();
        assert_eq!((m, sha2), (n, sha));
        ct
    }

    #[test]
    fn stream_roundtrip_at_chunk_edges() {
        let k = key();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let ct = roundtrip(&k, &data);
            assert_eq!(ct.len(), 8 + SALT + NONCE + len + TAG * (len / CHUNK + usize::from(len % CHUNK != 0 || len == 0)));
        }
    }

    #[test]
    fn tampering_truncation_wrong_key_and_wrong_path_fail() {
        let k = key();
        let data = vec![7u8; 2 * CHUNK + 5];
        let ct = roundtrip(&k, &data);
        let dec = |k: &BackupKey, path: &str, ct: &[u8]| decrypt_stream(k, path, &mut &ct[..], &mut std::io::sink());
        let mut flipped = ct.clone();
        flipped[100] ^= 1;
        assert!(dec(&k, "a/b", &flipped).is_err());
        // Cut at a chunk boundary: the last chunk left is not marked last.
        assert!(dec(&k, "a/b", &ct[..8 + SALT + NONCE + CHUNK + TAG]).is_err());
        assert!(dec(&k, "a/b", &ct[..ct.len() - 1]).is_err());
        assert!(dec(&key(), "a/b", &ct).is_err());
        assert!(dec(&k, "a/c", &ct).is_err(), "a file moved to another path does not decrypt");
        assert!(dec(&k, "a/b", b"nonsense").is_err());
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(safe_rel("attachments/ab/abcdef"));
        assert!(!safe_rel("../x"));
        assert!(!safe_rel("/etc/passwd"));
        assert!(!safe_rel(""));
    }
}
