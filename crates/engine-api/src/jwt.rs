//! JWT (HS256) authentication of the Engine API, per the execution-apis `authentication.md`:
//! a 32-byte shared secret in a hex file, tokens carrying `iat`, accepted within ±60 s.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

/// Largest allowed distance between a token's `iat` and the server's clock.
pub const IAT_WINDOW_SECS: u64 = 60;

/// Why a secret or a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The secret file could not be read or written.
    #[error("JWT secret file {path}: {reason}")]
    SecretFile {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The secret is not 32 bytes of hex.
    #[error("JWT secret must be 32 bytes of hex (64 hex characters, optional 0x): {0}")]
    InvalidSecret(String),
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    MissingToken,
    /// The token is not a well-formed JWT.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The token is signed with another algorithm than HS256.
    #[error("unsupported JWT algorithm {0:?} (only HS256)")]
    UnsupportedAlgorithm(String),
    /// The signature does not match the secret.
    #[error("invalid token signature")]
    InvalidSignature,
    /// The token has no `iat` claim.
    #[error("token has no iat claim")]
    MissingIat,
    /// `iat` is too far from now.
    #[error("stale token: iat {iat} is more than {IAT_WINDOW_SECS}s from now ({now})")]
    Stale {
        /// The token's issue time.
        iat: u64,
        /// The server's time.
        now: u64,
    },
}

/// The shared 32-byte secret of the Engine API.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret([u8; 32]);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(<hidden>)")
    }
}

impl JwtSecret {
    /// Parses 64 hex characters (optional `0x`, surrounding whitespace ignored).
    pub fn from_hex(hex_str: &str) -> Result<Self, JwtError> {
        let trimmed = hex_str.trim();
        let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
        let bytes = hex::decode(digits).map_err(|e| JwtError::InvalidSecret(e.to_string()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| JwtError::InvalidSecret(format!("{} bytes", b.len())))?;
        Ok(Self(bytes))
    }

    /// A fresh random secret.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads the secret from `path`, or generates one and writes it there (hex, mode 0600) when
    /// the file does not exist.
    pub fn load_or_generate(path: &Path) -> Result<Self, JwtError> {
        let file_error = |reason: String| JwtError::SecretFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(contents) => Self::from_hex(&contents),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = Self::random();
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| file_error(e.to_string()))?;
                }
                write_private(path, &secret.to_hex()).map_err(|e| file_error(e.to_string()))?;
                tracing::info!(path = %path.display(), "generated a new JWT secret");
                Ok(secret)
            }
            Err(e) => Err(file_error(e.to_string())),
        }
    }

    /// Hex form (no `0x`), as written to secret files.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// An HS256 token with `{"iat": iat}`.
    pub fn encode_token(&self, iat: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"iat":{iat}}}"#));
        let signing_input = format!("{header}.{claims}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks a token: HS256, valid signature (constant-time), `iat` within ±60 s of `now`.
    pub fn validate(&self, token: &str, now: u64) -> Result<(), JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed(
                "expected three dot-separated parts".into(),
            ));
        };
        let decode = |part: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|e| JwtError::Malformed(format!("{what}: {e}")))
        };
        let header_json: serde_json::Value = serde_json::from_slice(&decode(header, "header")?)
            .map_err(|e| JwtError::Malformed(format!("header: {e}")))?;
        let alg = header_json
            .get("alg")
            .and_then(|a| a.as_str())
            .unwrap_or_default();
        if alg != "HS256" {
            return Err(JwtError::UnsupportedAlgorithm(alg.to_string()));
        }
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(claims.as_bytes());
        mac.verify_slice(&decode(signature, "signature")?)
            .map_err(|_| JwtError::InvalidSignature)?;
        let claims_json: serde_json::Value = serde_json::from_slice(&decode(claims, "claims")?)
            .map_err(|e| JwtError::Malformed(format!("claims: {e}")))?;
        let iat = claims_json
            .get("iat")
            .and_then(|v| v.as_u64())
            .ok_or(JwtError::MissingIat)?;
        if iat.abs_diff(now) > IAT_WINDOW_SECS {
            return Err(JwtError::Stale { iat, now });
        }
        Ok(())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Seconds since the Unix epoch, from the system clock (authentication only).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_time_window() {
        let secret = JwtSecret::random();
        let token = secret.encode_token(1_000);
        assert_eq!(secret.validate(&token, 1_000), Ok(()));
        assert_eq!(secret.validate(&token, 1_059), Ok(()));
        assert_eq!(secret.validate(&token, 941), Ok(()));
        assert_eq!(
            secret.validate(&token, 1_061),
            Err(JwtError::Stale {
                iat: 1_000,
                now: 1_061
            })
        );
        assert_eq!(
            secret.validate(&token, 939),
            Err(JwtError::Stale {
                iat: 1_000,
                now: 939
            })
        );
    }

    #[test]
    fn tampering_algorithms_and_missing_claims_are_refused() {
        let secret = JwtSecret::random();
        let other = JwtSecret::random();
        let token = secret.encode_token(50);
        assert_eq!(other.validate(&token, 50), Err(JwtError::InvalidSignature));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(r#"{"iat":51}"#);
        parts[1] = &forged_claims;
        assert_eq!(
            secret.validate(&parts.join("."), 50),
            Err(JwtError::InvalidSignature)
        );
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"iat":50}"#);
        assert_eq!(
            secret.validate(&format!("{none_header}.{claims}."), 50),
            Err(JwtError::UnsupportedAlgorithm("none".into()))
        );
        // A correctly signed token without iat.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#);
        let mut mac = secret.mac();
        mac.update(format!("{header}.{claims}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert_eq!(
            secret.validate(&format!("{header}.{claims}.{sig}"), 50),
            Err(JwtError::MissingIat)
        );
        assert!(matches!(
            secret.validate("not-a-jwt", 50),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn secret_file_generated_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/jwt.hex");
        let first = JwtSecret::load_or_generate(&path).unwrap();
        let again = JwtSecret::load_or_generate(&path).unwrap();
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(dir.path().join("bad.hex"), "0x1234").unwrap();
        assert!(matches!(
            JwtSecret::load_or_generate(&dir.path().join("bad.hex")),
            Err(JwtError::InvalidSecret(_))
        ));
        assert_eq!(
            JwtSecret::from_hex(&format!("  0x{}\n", first.to_hex())).unwrap(),
            first
        );
        assert!(JwtSecret::from_hex("zz").is_err());
    }
}
