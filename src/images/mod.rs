//! Lot photographs: checked and re-encoded off the async workers, one at a time (a 40-megapixel
//! decode holds ~160 MB), stored by content hash in the database, and served from a small
//! in-memory cache in front of it.

pub mod draw;
pub mod process;

use crate::domain::catalogue::ImageRef;
use crate::store::Store;
use bytes::Bytes;
use process::{ImageError, Processed};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Decodes waiting beyond this many are refused (503) rather than queued without end.
const DECODE_QUEUE: usize = 8;
/// Image bytes kept in memory, by weight.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;
const CACHE_ITEMS: usize = 4_096;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("too many images are being processed; try again in a moment")]
    Busy,
    #[error("image processing failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

#[derive(Clone)]
struct ByLength;

impl quick_cache::Weighter<String, Bytes> for ByLength {
    fn weight(&self, _: &String, bytes: &Bytes) -> u64 {
        bytes.len() as u64 + 64
    }
}

#[derive(Clone)]
pub struct Images {
    store: Store,
    decoding: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    cache: Arc<quick_cache::sync::Cache<String, Bytes, ByLength>>,
}

impl Images {
    pub fn new(store: Store) -> Self {
        Images {
            store,
            decoding: Arc::new(Semaphore::new(1)),
            waiting: Arc::new(AtomicUsize::new(0)),
            cache: Arc::new(quick_cache::sync::Cache::with_weighter(
                CACHE_ITEMS,
                CACHE_BYTES,
                ByLength,
            )),
        }
    }

    /// Checks and re-encodes an upload, then stores both sizes; the lot is not changed yet.
    pub async fn store_upload(&self, bytes: Bytes) -> Result<ImageRef, UploadError> {
        let processed = self.decode(bytes).await?;
        self.save(processed).await
    }

    async fn decode(&self, bytes: Bytes) -> Result<Processed, UploadError> {
        struct Queued(Arc<AtomicUsize>);
        impl Drop for Queued {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let queued = Queued(self.waiting.clone());
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= DECODE_QUEUE {
            return Err(UploadError::Busy);
        }
        let permit = self
            .decoding
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| UploadError::Failed(e.to_string()))?;
        drop(queued);
        tokio::task::spawn_blocking(move || {
            let out = process::process(&bytes);
            drop(permit);
            out
        })
        .await
        .map_err(|e| UploadError::Failed(e.to_string()))?
        .map_err(UploadError::from)
    }

    /// Stores an image already re-encoded (the demo's drawings come this way).
    pub async fn save(&self, p: Processed) -> Result<ImageRef, UploadError> {
        for e in [&p.display, &p.thumb] {
            self.store.put_image_blob(&e.hash, &e.bytes).await?;
        }
        Ok(ImageRef {
            id: Uuid::now_v7(),
            hash: p.display.hash,
            width: p.display.width,
            height: p.display.height,
            thumb_hash: p.thumb.hash,
            thumb_width: p.thumb.width,
            thumb_height: p.thumb.height,
        })
    }

    /// The bytes stored under `hash`, from memory when recently served.
    pub async fn bytes(&self, hash: &str) -> Result<Option<Bytes>, sqlx::Error> {
        if let Some(b) = self.cache.get(hash) {
            return Ok(Some(b));
        }
        let Some(bytes) = self.store.image_blob(hash).await? else {
            return Ok(None);
        };
        let bytes = Bytes::from(bytes);
        self.cache.insert(hash.to_owned(), bytes.clone());
        Ok(Some(bytes))
    }
}
