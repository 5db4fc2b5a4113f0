//! Image bytes by content hash (see `images`).

use super::Store;

impl Store {
    /// Keeps the bytes once, however many lots show them.
    pub async fn put_image_blob(&self, hash: &str, bytes: &[u8]) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT OR IGNORE INTO image_blobs (hash, content_type, bytes) VALUES (?, 'image/jpeg', ?)",
        )
        .bind(hash)
        .bind(bytes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn image_blob(&self, hash: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        sqlx::query_scalar("SELECT bytes FROM image_blobs WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
    }
}
