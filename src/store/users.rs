//! Accounts.

use super::{Store, from_millis, is_unique_violation, parse_id, to_millis};
use crate::domain::{Role, Time, UserRef, Username};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub suspended: bool,
    pub created_at: Time,
}

impl User {
    pub fn as_ref(&self) -> UserRef {
        UserRef {
            id: self.id,
            username: self.username.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    role: String,
    suspended: bool,
    created_at: i64,
    password_hash: String,
}

impl UserRow {
    fn into_user(self) -> Result<(User, String), sqlx::Error> {
        let role = self
            .role
            .parse()
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok((
            User {
                id: parse_id(&self.id)?,
                username: self.username,
                role,
                suspended: self.suspended,
                created_at: from_millis(self.created_at),
            },
            self.password_hash,
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("that username is taken")]
    Taken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Store {
    #[tracing::instrument(skip(self, password_hash))]
    pub async fn create_user(
        &self,
        username: &Username,
        password_hash: &str,
        role: Role,
        now: Time,
    ) -> Result<User, CreateUserError> {
        let id = Uuid::now_v7();
        let result = sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(username.as_str())
        .bind(password_hash)
        .bind(role.as_str())
        .bind(to_millis(now))
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(User {
                id,
                username: username.as_str().to_owned(),
                role,
                suspended: false,
                created_at: now,
            }),
            Err(e) if is_unique_violation(&e) => Err(CreateUserError::Taken),
            Err(e) => Err(e.into()),
        }
    }

    /// The user and their password hash.
    #[tracing::instrument(skip(self))]
    pub async fn user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, sqlx::Error> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, username, role, suspended, created_at, password_hash FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(UserRow::into_user).transpose()
    }

    /// Suspends or restores a user; suspension also ends their sessions and tokens.
    pub async fn set_suspended(
        &self,
        username: &str,
        suspended: bool,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET suspended = ? WHERE username = ?")
            .bind(suspended)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        if suspended {
            sqlx::query(
                "DELETE FROM auth_tokens WHERE user_id = (SELECT id FROM users WHERE username = ?)",
            )
            .bind(username)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if suspended {
            self.tokens.forget_user(username);
        }
        Ok(done.rows_affected() > 0)
    }

    pub(super) fn user_from_row(
        id: String,
        username: String,
        role: String,
        suspended: bool,
        created_at: i64,
    ) -> Result<User, sqlx::Error> {
        UserRow {
            id,
            username,
            role,
            suspended,
            created_at,
            password_hash: String::new(),
        }
        .into_user()
        .map(|(u, _)| u)
    }
}
