//! Categories (API.md §8): created here; renamed through the auction house, which holds the
//! open lots that show the name.

use super::{Store, to_millis};
use crate::domain::Time;
use crate::domain::catalogue::{CategoryName, CategoryRef};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryCount {
    pub slug: String,
    pub name: String,
    pub open_lots: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AddCategoryError {
    #[error("a category with that name exists")]
    Exists,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Store {
    /// Every category, by name, with how many lots are open in it.
    pub async fn categories(&self) -> Result<Vec<CategoryCount>, sqlx::Error> {
        sqlx::query_as(
            "SELECT c.slug, c.name,
                (SELECT COUNT(*) FROM lots l WHERE l.category = c.slug AND l.status = 'open')
                    AS open_lots
               FROM categories c ORDER BY c.name COLLATE NOCASE",
        )
        .fetch_all(&self.pool)
        .await
    }

    pub async fn category(&self, slug: &str) -> Result<Option<CategoryRef>, sqlx::Error> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT slug, name FROM categories WHERE slug = ?")
                .bind(slug)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(slug, name)| CategoryRef { slug, name }))
    }

    pub async fn add_category(
        &self,
        name: &CategoryName,
        now: Time,
    ) -> Result<CategoryRef, AddCategoryError> {
        let slug = name.slug();
        let done = sqlx::query("INSERT INTO categories (slug, name, created_at) VALUES (?, ?, ?)")
            .bind(&slug)
            .bind(name.as_str())
            .bind(to_millis(now))
            .execute(&self.pool)
            .await;
        match done {
            Ok(_) => Ok(CategoryRef {
                slug,
                name: name.as_str().to_owned(),
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AddCategoryError::Exists)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether another category already has this name (names are unique, ignoring case).
    pub async fn category_name_taken(&self, name: &str, slug: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM categories WHERE name = ? COLLATE NOCASE AND slug != ?",
        )
        .bind(name)
        .bind(slug)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}
