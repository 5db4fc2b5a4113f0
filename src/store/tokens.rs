//! Browser sessions and API bearer tokens: random secrets, stored only as SHA-256.

use super::users::User;
use super::{Store, to_millis};
use crate::domain::Time;
use sha2::{Digest, Sha256};
use std::time::Duration;

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

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
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

    /// The user a live, unexpired secret belongs to, unless they are suspended.
    #[tracing::instrument(skip_all)]
    pub async fn user_for_token(
        &self,
        secret: &str,
        kind: TokenKind,
        now: Time,
    ) -> Result<Option<User>, sqlx::Error> {
        let row: Option<(String, String, String, bool, i64)> = sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.suspended, u.created_at
             FROM auth_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ? AND t.kind = ? AND t.expires_at > ? AND u.suspended = 0",
        )
        .bind(hash(secret))
        .bind(kind.as_str())
        .bind(to_millis(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, name, role, suspended, created)| {
            Store::user_from_row(id, name, role, suspended, created)
        })
        .transpose()
    }

    pub async fn revoke_token(&self, secret: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM auth_tokens WHERE token_hash = ?")
            .bind(hash(secret))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn purge_expired_tokens(&self, now: Time) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM auth_tokens WHERE expires_at <= ?")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
