//! Online backup: `VACUUM INTO` copies the database as of one read transaction while the site
//! goes on serving (readers never block the writer in WAL mode), into a new compact file.

use super::Store;
use std::path::Path;

impl Store {
    /// Writes a consistent copy of the database to `path`, which must not exist yet. Everything
    /// committed before the copy's read transaction began is in it.
    pub async fn backup_to(&self, path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            !path.exists(),
            "{} exists already; choose a new file",
            path.display()
        );
        let target = path
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
