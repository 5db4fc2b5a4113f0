//! The site's own secrets, made once and kept in the database.

use super::Store;

impl Store {
    /// The 32-byte secret called `name`, made on first use.
    pub async fn site_key(&self, name: &str) -> anyhow::Result<[u8; 32]> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        sqlx::query("INSERT OR IGNORE INTO site_keys (name, value) VALUES (?, ?)")
            .bind(name)
            .bind(fresh.as_slice())
            .execute(&self.pool)
            .await?;
        let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM site_keys WHERE name = ?")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        stored
            .try_into()
            .map_err(|_| anyhow::anyhow!("the site key {name} is not 32 bytes"))
    }
}
