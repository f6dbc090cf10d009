//! Keyed tokens of NIKs, for matching a person across services without the NIK itself.
//!
//! A token is HMAC-SHA256 of the NIK under a key the services share (a managed secret, never
//! in the repository), written as `<key id>.<hex>`. Equal NIKs give equal tokens under one key,
//! so services join on tokens; without the key a token cannot be turned back into a NIK by
//! trying all 10^16 of them, which a plain hash would allow in hours (NIKs are mostly a
//! region code and a birth date). The key id lets a new key be introduced while stored
//! tokens under the old one are re-keyed.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Nik;

/// The shortest key accepted: 256 bits, as much as the hash gives.
pub const MIN_KEY_BYTES: usize = 32;

/// Why a token key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenKeyError {
    #[error("key id {0:?}: 1 to 32 letters, digits or '-'")]
    BadKeyId(String),
    #[error("key: hexadecimal text expected")]
    NotHex,
    #[error("key: {0} bytes given, at least {MIN_KEY_BYTES} needed")]
    TooShort(usize),
}

/// Makes tokens of NIKs under one key.
#[derive(Clone)]
pub struct NikTokenizer {
    key_id: String,
    key: Vec<u8>,
}

impl fmt::Debug for NikTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key itself never reaches a log.
        f.debug_struct("NikTokenizer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl NikTokenizer {
    /// A tokenizer from a key given as hexadecimal text (as a secrets file holds it;
    /// surrounding whitespace is ignored).
    pub fn from_hex(key_id: &str, key_hex: &str) -> Result<NikTokenizer, TokenKeyError> {
        if key_id.is_empty() || key_id.len() > 32 || !key_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(TokenKeyError::BadKeyId(key_id.to_string()));
        }
        let key = hex::decode(key_hex.trim()).map_err(|_| TokenKeyError::NotHex)?;
        if key.len() < MIN_KEY_BYTES {
            return Err(TokenKeyError::TooShort(key.len()));
        }
        Ok(NikTokenizer {
            key_id: key_id.to_string(),
            key,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The token of `nik` under this key.
    pub fn token(&self, nik: &Nik) -> String {
        self.token_of_text(nik.as_str())
    }

    /// The token of NIK-shaped text that may not parse as a valid NIK (e.g. a reported
    /// NIK under verification); the same text gives the same token as [`Self::token`].
    pub fn token_of_text(&self, nik_text: &str) -> String {
        // A key of any length is valid for HMAC; the constructor checked the minimum.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(b"slrt-nik-v1\0");
        mac.update(nik_text.trim().as_bytes());
        format!("{}.{}", self.key_id, hex::encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn nik(text: &str) -> Nik {
        Nik::parse_at(text, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn one_nik_gives_one_token_under_one_key_and_another_under_another() {
        let a = NikTokenizer::from_hex("k1", KEY).unwrap_or_else(|e| panic!("{e}"));
        let b = NikTokenizer::from_hex("k2", &KEY.replace("00", "ff")).unwrap_or_else(|e| panic!("{e}"));
        let siti = nik("3375015708900002");

        assert_eq!(a.token(&siti), a.token(&siti));
        assert_eq!(a.token(&siti), a.token_of_text(" 3375015708900002 "));
        assert_ne!(a.token(&siti), a.token(&nik("3375015708900003")));
        assert!(a.token(&siti).starts_with("k1."));
        assert_ne!(a.token(&siti)[3..], b.token(&siti)[3..]);
        assert!(!a.token(&siti).contains("3375015708900002"));
    }

    #[test]
    fn short_or_malformed_keys_and_bad_key_ids_are_refused() {
        assert_eq!(
            NikTokenizer::from_hex("k1", "abcd").err(),
            Some(TokenKeyError::TooShort(2))
        );
        assert_eq!(NikTokenizer::from_hex("k1", "xyz").err(), Some(TokenKeyError::NotHex));
        assert_eq!(
            NikTokenizer::from_hex("k 1", KEY).err(),
            Some(TokenKeyError::BadKeyId("k 1".to_string()))
        );
    }

    #[test]
    fn the_key_does_not_show_in_debug_output() {
        let tokenizer = NikTokenizer::from_hex("k1", KEY).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{tokenizer:?}").contains("0102"));
    }
}
