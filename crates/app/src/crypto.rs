//! Field encryption at rest for ID numbers and health data, with a keyed hash ("blind index")
//! so an ID number can still be found by exact match.
//!
//! One 32-byte master key comes from configuration. Two sub-keys are derived from it with
//! HMAC-SHA256 under fixed labels, so the encryption key and the index key differ and one
//! cannot be computed from the other:
//!
//! * encryption key = HMAC-SHA256(master, `"dangan-field-encryption-v1"`)
//! * index key      = HMAC-SHA256(master, `"dangan-blind-index-v1"`)
//!
//! An encrypted value is `enc:v1:` + base64 (standard, padded) of `nonce (12 random bytes) ||
//! ChaCha20-Poly1305 ciphertext and tag`. A value without the `enc:` prefix is legacy plaintext
//! and reads as it is, so archives written before encryption was switched on still open and get
//! encrypted on their next save. A ciphertext that was altered, or read with another key, is an
//! error, never garbage.
//!
//! The blind index of a value is hex(HMAC-SHA256(index key, kind || 0x00 || normalized value)),
//! normalization dropping whitespace, mapping full-width characters to ASCII and uppercasing, so
//! `11010519491231002x`, `110105 19491231 002X` and `１１０１０５…` find the same archive. The
//! `kind` keeps indexes of different fields apart. It reveals equality of values (that is its
//! purpose) and nothing else without the key.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use dangan_core::mask::is_health_key;
use dangan_core::ArchiveData;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of a value encrypted with this module's format version 1.
pub const ENCRYPTED_PREFIX: &str = "enc:v1:";
/// `kind` of the ID number's blind index (see [`FieldCrypto::blind_index`]).
pub const ID_NUMBER_INDEX_KIND: &str = "id_number";

const ENCRYPTION_LABEL: &[u8] = b"dangan-field-encryption-v1";
const INDEX_LABEL: &[u8] = b"dangan-blind-index-v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Not valid base64, too short to hold a nonce and a tag, or not UTF-8 / JSON once opened.
    #[error("malformed encrypted value")]
    Malformed,
    /// The authentication tag does not match: the value was altered or the key is not the one
    /// it was encrypted with.
    #[error("encrypted value fails authentication (altered, or encrypted with another key)")]
    Authentication,
    /// `enc:` with a format version this build does not know (written by a newer version).
    #[error("unsupported encryption format: {0}")]
    UnsupportedVersion(String),
}

/// Is `s` a value encrypted by [`FieldCrypto::encrypt`]?
pub fn is_encrypted(s: &str) -> bool {
    s.starts_with(ENCRYPTED_PREFIX)
}

/// Normalization applied before computing a blind index: whitespace dropped, full-width forms
/// mapped to ASCII, uppercased.
pub fn normalize_for_index(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_uppercase)
        .collect()
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Encrypts and decrypts sensitive fields and computes their blind indexes. Cheap to clone;
/// its `Debug` output never shows the keys.
#[derive(Clone)]
pub struct FieldCrypto {
    cipher: ChaCha20Poly1305,
    index_key: [u8; 32],
    /// Kept for backups, which must carry the key (encrypted) to be restorable.
    master: [u8; 32],
}

impl fmt::Debug for FieldCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldCrypto { .. }")
    }
}

impl FieldCrypto {
    pub fn from_key(master: &[u8; 32]) -> Self {
        let enc_key = derive(master, ENCRYPTION_LABEL);
        FieldCrypto { cipher: ChaCha20Poly1305::new(Key::from_slice(&enc_key)), index_key: derive(master, INDEX_LABEL), master: *master }
    }

    /// The master key as 64 hex digits (what `dangan.key` holds), for the backup, which carries
    /// it encrypted with the backup key.
    pub fn master_key_hex(&self) -> String {
        hex::encode(self.master)
    }

    /// The master key as 64 hex digits (surrounding whitespace ignored). An all-zero key is
    /// refused: it is a placeholder, not a key.
    pub fn from_key_hex(hex_key: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex_key.trim()).map_err(|e| format!("encryption key is not hex: {e}"))?;
        let master: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| format!("encryption key must be 32 bytes (64 hex digits), got {} bytes", b.len()))?;
        if master == [0; 32] {
            return Err("encryption key is all zeros".into());
        }
        Ok(Self::from_key(&master))
    }

    /// A fresh random master key, as 64 hex digits, for `from_key_hex`.
    pub fn generate_key_hex() -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        hex::encode(key)
    }

    /// `enc:v1:` + base64(nonce || ciphertext); a new random nonce every time, so equal
    /// plaintexts give different ciphertexts.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self.cipher.encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes()).expect("ChaCha20-Poly1305 encrypts any field-sized input");
        let mut payload = Vec::with_capacity(NONCE_LEN + ct.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&ct);
        format!("{ENCRYPTED_PREFIX}{}", BASE64.encode(payload))
    }

    /// The plaintext of an encrypted value; a value that is not encrypted (legacy plaintext)
    /// is returned as it is.
    pub fn decrypt(&self, s: &str) -> Result<String, CryptoError> {
        let Some(b64) = s.strip_prefix(ENCRYPTED_PREFIX) else {
            if let Some(rest) = s.strip_prefix("enc:v") {
                // A format from a newer build: passing it through would show ciphertext as data.
                return Err(CryptoError::UnsupportedVersion(format!("enc:v{}", rest.split(':').next().unwrap_or(""))));
            }
            return Ok(s.to_string());
        };
        let payload = BASE64.decode(b64).map_err(|_| CryptoError::Malformed)?;
        if payload.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = payload.split_at(NONCE_LEN);
        let pt = self.cipher.decrypt(Nonce::from_slice(nonce), ct).map_err(|_| CryptoError::Authentication)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Malformed)
    }

    pub fn is_encrypted(s: &str) -> bool {
        is_encrypted(s)
    }

    /// hex(HMAC-SHA256(index key, kind || 0x00 || normalized value)): stable for a key, equal
    /// for values equal after [`normalize_for_index`].
    pub fn blind_index(&self, kind: &str, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.index_key).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(normalize_for_index(value).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Blind index of an ID number, as stored beside the archive and used for lookup.
    pub fn id_number_index(&self, id_number: &str) -> String {
        self.blind_index(ID_NUMBER_INDEX_KIND, id_number)
    }

    /// Encrypts the sensitive fields of `d` before it is stored: the person's ID number and the
    /// health custom fields ([`dangan_core::mask::HEALTH_CUSTOM_KEYS`], whatever the template).
    /// Returns the ID number's blind index, to be stored for lookup: for a plaintext ID number
    /// that is encrypted now, and also for one already encrypted with this key (so re-sealing
    /// an archive never loses its index); `None` when there is no ID number (or it was
    /// encrypted with another key). Idempotent: what is already encrypted is left alone.
    ///
    /// A health value is encrypted as its JSON text, so a number, list or object comes back
    /// from [`open_archive`](Self::open_archive) with its type; null stays null.
    pub fn seal_archive(&self, d: &mut ArchiveData) -> Option<String> {
        let mut index = None;
        if let Some(id) = d.person.as_mut().and_then(|p| p.id_number.as_mut()) {
            if is_encrypted(id) {
                index = self.decrypt(id).ok().map(|plain| self.id_number_index(&plain));
            } else if !id.trim().is_empty() {
                index = Some(self.id_number_index(id));
                *id = self.encrypt(id);
            }
        }
        for (key, value) in d.custom.iter_mut() {
            if !is_health_key(key) || value.is_null() || value.as_str().is_some_and(is_encrypted) {
                continue;
            }
            let json = serde_json::to_string(value).expect("a JSON value serializes");
            *value = Value::String(self.encrypt(&json));
        }
        index
    }

    /// Decrypts what [`seal_archive`](Self::seal_archive) encrypted; plaintext (archives stored
    /// before encryption) passes through. On error `d` is left unchanged.
    pub fn open_archive(&self, d: &mut ArchiveData) -> Result<(), CryptoError> {
        let id_number = match d.person.as_ref().and_then(|p| p.id_number.as_deref()) {
            Some(id) if is_encrypted(id) || id.starts_with("enc:v") => Some(self.decrypt(id)?),
            _ => None,
        };
        let mut custom = Vec::new();
        for (key, value) in &d.custom {
            if let Some(s) = value.as_str().filter(|s| is_health_key(key) && s.starts_with("enc:v")) {
                let json = self.decrypt(s)?;
                custom.push((key.clone(), serde_json::from_str::<Value>(&json).map_err(|_| CryptoError::Malformed)?));
            }
        }
        if let (Some(plain), Some(p)) = (id_number, d.person.as_mut()) {
            p.id_number = Some(plain);
        }
        for (key, value) in custom {
            d.custom.insert(key, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dangan_core::{CustomerKind, PersonInfo};
    use serde_json::json;

    const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn crypto() -> FieldCrypto {
        FieldCrypto::from_key_hex(KEY).unwrap()
    }

    #[test]
    fn round_trip() {
        let c = crypto();
        for s in ["11010519491231002X", "青霉素过敏；2019年阑尾炎手术", "", "enc", "😀 mixed ascii 与中文"] {
            let e = c.encrypt(s);
            assert!(is_encrypted(&e) && FieldCrypto::is_encrypted(&e));
            assert!(!e.contains(s) || s.len() < 4, "plaintext visible in {e}");
            assert_eq!(c.decrypt(&e).unwrap(), s);
        }
    }

    #[test]
    fn nonces_differ() {
        let c = crypto();
        let a = c.encrypt("330105198506151228");
        let b = c.encrypt("330105198506151228");
        assert_ne!(a, b);
        let nonce = |s: &str| BASE64.decode(s.strip_prefix(ENCRYPTED_PREFIX).unwrap()).unwrap()[..NONCE_LEN].to_vec();
        assert_ne!(nonce(&a), nonce(&b));
        assert_eq!(c.decrypt(&a).unwrap(), c.decrypt(&b).unwrap());
    }

    #[test]
    fn tampering_is_detected() {
        let c = crypto();
        let e = c.encrypt("330105198506151228");
        let mut payload = BASE64.decode(e.strip_prefix(ENCRYPTED_PREFIX).unwrap()).unwrap();
        for i in [0, NONCE_LEN, payload.len() - 1] {
            payload[i] ^= 0x01;
            let tampered = format!("{ENCRYPTED_PREFIX}{}", BASE64.encode(&payload));
            assert_eq!(c.decrypt(&tampered), Err(CryptoError::Authentication), "byte {i}");
            payload[i] ^= 0x01;
        }
        assert_eq!(c.decrypt(&format!("{ENCRYPTED_PREFIX}{}", BASE64.encode(&payload[..NONCE_LEN + TAG_LEN - 1]))), Err(CryptoError::Malformed));
        assert_eq!(c.decrypt("enc:v1:not base64!"), Err(CryptoError::Malformed));
        assert_eq!(c.decrypt("enc:v1:"), Err(CryptoError::Malformed));
        assert!(matches!(c.decrypt("enc:v2:AAAA"), Err(CryptoError::UnsupportedVersion(v)) if v == "enc:v2"));
    }

    #[test]
    fn wrong_key_fails() {
        let e = crypto().encrypt("11010519491231002X");
        let other = FieldCrypto::from_key_hex(&FieldCrypto::generate_key_hex()).unwrap();
        assert_eq!(other.decrypt(&e), Err(CryptoError::Authentication));
        assert_ne!(other.id_number_index("11010519491231002X"), crypto().id_number_index("11010519491231002X"));
    }

    #[test]
    fn keys_parse_and_generate() {
        let k = FieldCrypto::generate_key_hex();
        assert_eq!(k.len(), 64);
        assert_ne!(k, FieldCrypto::generate_key_hex());
        assert!(FieldCrypto::from_key_hex(&format!("  {}\n", k.to_uppercase())).is_ok());
        assert!(FieldCrypto::from_key_hex("abcd").unwrap_err().contains("32 bytes"));
        assert!(FieldCrypto::from_key_hex(&"zz".repeat(32)).unwrap_err().contains("hex"));
        assert!(FieldCrypto::from_key_hex(&"0".repeat(64)).is_err());
        assert_eq!(format!("{:?}", crypto()), "FieldCrypto { .. }");
    }

    #[test]
    fn blind_index_is_stable_and_normalized() {
        let c = crypto();
        let a = c.id_number_index("11010519491231002X");
        assert_eq!(a.len(), 64);
        assert_eq!(a, crypto().id_number_index("11010519491231002X"));
        for typed in ["11010519491231002x", " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２Ｘ", "110105\u{3000}19491231002x"] {
            assert_eq!(c.id_number_index(typed), a, "{typed:?}");
        }
        assert_ne!(c.id_number_index("110105194912310021"), a);
        assert_ne!(c.blind_index("passport", "11010519491231002X"), a, "kinds are kept apart");

        // The documented construction, so another component can reproduce it.
        let master: [u8; 32] = hex::decode(KEY).unwrap().try_into().unwrap();
        let index_key = derive(&master, b"dangan-blind-index-v1");
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&index_key).unwrap();
        mac.update(b"id_number\x0011010519491231002X");
        assert_eq!(hex::encode(mac.finalize().into_bytes()), a);
        // Sub-keys differ from each other and from the master key.
        let enc_key = derive(&master, b"dangan-field-encryption-v1");
        assert_ne!(enc_key, index_key);
        assert_ne!(enc_key, master);
    }

    #[test]
    fn legacy_plaintext_passes_through() {
        let c = crypto();
        for s in ["11010519491231002X", "", "enc", "encrypted later", "高血压"] {
            assert!(!is_encrypted(s));
            assert_eq!(c.decrypt(s).unwrap(), s);
        }
    }

    fn archive() -> ArchiveData {
        let mut d = ArchiveData::new(CustomerKind::Person, "李娜");
        d.mobile = Some("13912345678".into());
        d.template = Some("membership".into());
        d.person = Some(PersonInfo { id_number: Some("33010519850615122X".into()), ..Default::default() });
        d.custom.insert("card_no".into(), json!("M20240017"));
        d.custom.insert("health_notes".into(), json!("腰椎间盘突出，避免负重训练"));
        d.custom.insert("allergies".into(), json!(["青霉素", "芒果"]));
        d.custom.insert("medical_history".into(), Value::Null);
        d
    }

    #[test]
    fn seal_and_open_archive() {
        let c = crypto();
        let original = archive();
        let mut d = original.clone();
        let index = c.seal_archive(&mut d).expect("an ID number gives an index");
        assert_eq!(index, c.id_number_index("33010519850615122x"));
        assert!(is_encrypted(d.id_number().unwrap()));
        assert!(d.custom["health_notes"].as_str().is_some_and(is_encrypted));
        assert!(d.custom["allergies"].as_str().is_some_and(is_encrypted));
        assert_eq!(d.custom["medical_history"], Value::Null);
        assert_eq!(d.custom["card_no"], json!("M20240017"), "only health keys are encrypted");
        assert_eq!(d.mobile, original.mobile);
        let stored = serde_json::to_string(&d).unwrap();
        assert!(!stored.contains("122X") && !stored.contains("青霉素") && !stored.contains("腰椎"));

        // Sealing again changes nothing and still reports the index.
        let sealed = d.clone();
        assert_eq!(c.seal_archive(&mut d), Some(index));
        assert_eq!(d, sealed);

        c.open_archive(&mut d).unwrap();
        assert_eq!(d, original);
    }

    #[test]
    fn open_handles_legacy_and_refuses_tampering() {
        let c = crypto();
        let mut d = archive();
        c.open_archive(&mut d).unwrap();
        assert_eq!(d, archive(), "plaintext archives open as they are");

        let mut none = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
        assert_eq!(c.seal_archive(&mut none), None);

        let mut sealed = archive();
        c.seal_archive(&mut sealed);
        let other = FieldCrypto::from_key_hex(&FieldCrypto::generate_key_hex()).unwrap();
        let before = sealed.clone();
        assert_eq!(other.open_archive(&mut sealed), Err(CryptoError::Authentication));
        assert_eq!(sealed, before, "left unchanged on error");
        assert_eq!(other.seal_archive(&mut sealed), None, "another key's ciphertext gives no index");

        let mut bad = before.clone();
        let mut health = bad.custom["health_notes"].as_str().unwrap().to_string();
        health.replace_range(10..11, if &health[10..11] == "A" { "B" } else { "A" });
        bad.custom.insert("health_notes".into(), Value::String(health));
        assert_eq!(c.open_archive(&mut bad), Err(CryptoError::Authentication));
    }
}
