//! Browser sessions and API bearer tokens: random secrets, stored only as SHA-256.

use super::users::User;
use super::{Store, to_millis};
use crate::domain::Time;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a checked token is trusted without asking the database again. Logout and
/// suspension through this process take effect at once; a suspension made by another process
/// (the command line) within this long.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(5);
const CACHE_MAX: usize = 100_000;

struct Cached {
    user: User,
    kind: TokenKind,
    expires_at: i64,
    checked: std::time::Instant,
}

#[derive(Default)]
pub struct TokenCache(std::sync::Mutex<std::collections::HashMap<String, Cached>>);

impl TokenCache {
    fn get(&self, hash: &str, kind: TokenKind, now_ms: i64) -> Option<User> {
        let map = self.0.lock().ok()?;
        let c = map.get(hash)?;
        (c.kind == kind && c.expires_at > now_ms && c.checked.elapsed() < CACHE_FOR)
            .then(|| c.user.clone())
    }

    fn put(&self, hash: String, kind: TokenKind, user: User, expires_at: i64) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHE_MAX {
                map.retain(|_, c| c.checked.elapsed() < CACHE_FOR);
            }
            let checked = std::time::Instant::now();
            map.insert(
                hash,
                Cached {
                    user,
                    kind,
                    expires_at,
                    checked,
                },
            );
        }
    }

    fn forget(&self, hash: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(hash);
        }
    }

    pub(crate) fn forget_user(&self, username: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, c| c.user.username != username);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

/// 32 random bytes from the operating system, as hex.
pub fn random_secret() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// A session or token as its owner sees it listed; `id` is the hash, never the secret.
#[derive(Debug, Clone)]
pub struct Credential {
    pub id: String,
    pub kind: TokenKind,
    pub created_at: Time,
    pub expires_at: Time,
}

/// The id under which a secret is stored and listed.
pub fn credential_id(secret: &str) -> String {
    hash(secret)
}

fn hash(secret: &str) -> String {
    hash_on_stack(secret, &mut [0u8; 64]).to_owned()
}

/// The hash, hex-encoded on the stack: a cache lookup allocates nothing.
fn hash_on_stack<'a>(secret: &str, out: &'a mut [u8; 64]) -> &'a str {
    let encoded = hex::encode_to_slice(Sha256::digest(secret.as_bytes()), out);
    encoded
        .ok()
        .and_then(|()| std::str::from_utf8(out).ok())
        .unwrap_or_default()
}

impl Store {
    /// Issues a new secret for the user; returns it (the only time it exists in clear).
    #[tracing::instrument(skip(self, user))]
    pub async fn issue_token(
        &self,
        user: &User,
        kind: TokenKind,
        now: Time,
        ttl: Duration,
    ) -> Result<String, sqlx::Error> {
        let secret = random_secret().map_err(sqlx::Error::Io)?;
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(14));
        sqlx::query(
            "INSERT INTO auth_tokens (token_hash, kind, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(hash(&secret))
        .bind(kind.as_str())
        .bind(user.id.to_string())
        .bind(to_millis(now))
        .bind(to_millis(expires))
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    /// The user of a secret checked within the last few seconds (see `CACHE_FOR`), without
    /// waiting: `None` means ask `user_for_token`.
    pub fn recently_checked_user(&self, secret: &str, kind: TokenKind, now: Time) -> Option<User> {
        let mut buf = [0u8; 64];
        self.tokens
            .get(hash_on_stack(secret, &mut buf), kind, to_millis(now))
    }

    /// The user a live, unexpired secret belongs to, unless they are suspended.
    #[tracing::instrument(skip_all)]
    pub async fn user_for_token(
        &self,
        secret: &str,
        kind: TokenKind,
        now: Time,
    ) -> Result<Option<User>, sqlx::Error> {
        if let Some(user) = self.recently_checked_user(secret, kind, now) {
            return Ok(Some(user));
        }
        let (token_hash, now_ms) = (hash(secret), to_millis(now));
        let row: Option<(String, String, String, bool, i64, i64)> = sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.suspended, u.created_at, t.expires_at
             FROM auth_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ? AND t.kind = ? AND t.expires_at > ? AND u.suspended = 0",
        )
        .bind(&token_hash)
        .bind(kind.as_str())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, name, role, suspended, created, expires_at)) = row else {
            return Ok(None);
        };
        let user = Store::user_from_row(id, name, role, suspended, created)?;
        self.tokens.put(token_hash, kind, user.clone(), expires_at);
        Ok(Some(user))
    }

    pub async fn revoke_token(&self, secret: &str) -> Result<(), sqlx::Error> {
        let token_hash = hash(secret);
        self.tokens.forget(&token_hash);
        sqlx::query("DELETE FROM auth_tokens WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user's live sessions and tokens, newest first.
    pub async fn credentials_of(
        &self,
        user: uuid::Uuid,
        now: Time,
    ) -> Result<Vec<Credential>, sqlx::Error> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT token_hash, kind, created_at, expires_at FROM auth_tokens
             WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC LIMIT 200",
        )
        .bind(user.to_string())
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, created, expires)| Credential {
                id,
                kind: if kind == "api" {
                    TokenKind::Api
                } else {
                    TokenKind::Session
                },
                created_at: super::from_millis(created),
                expires_at: super::from_millis(expires),
            })
            .collect())
    }

    /// Ends one of the user's sessions or tokens by its id; false if it was not theirs.
    pub async fn end_credential(&self, user: uuid::Uuid, id: &str) -> Result<bool, sqlx::Error> {
        self.tokens.forget(id);
        let done = sqlx::query("DELETE FROM auth_tokens WHERE token_hash = ? AND user_id = ?")
            .bind(id)
            .bind(user.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn purge_expired_tokens(&self, now: Time) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM auth_tokens WHERE expires_at <= ?")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
