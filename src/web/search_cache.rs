//! Search results and the category list, kept until the catalogue changes. Every change that
//! shows in a result is either an event (a bid, an opening, a close: the hub's latest id moves)
//! or a catalogue edit (a category or an image, counted here), so a result read at version V is
//! exact for as long as the version is V: nothing is ever served stale. The same search asked
//! again is then a memory read (measured: ~2 ms of database work per search page otherwise).

use crate::domain::LotStatus;
use crate::live::Hub;
use crate::store::Store;
use crate::store::categories::CategoryCount;
use crate::store::search::{LotPage, LotQuery};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The catalogue's version: the hub's latest event id and the count of catalogue edits.
type Version = (i64, u64);

/// A search as the cache knows it: only public ones (no seller, no sale) are kept.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    q: String,
    category: Option<String>,
    status: &'static str,
    sort: &'static str,
    page: i64,
    per_page: i64,
}

struct Found {
    version: Version,
    page: Arc<LotPage>,
}

/// Searches kept at once.
const PAGES: usize = 2_048;

pub struct SearchCache {
    hub: Arc<Hub>,
    store: Store,
    edits: AtomicU64,
    pages: quick_cache::sync::Cache<Key, Arc<Found>>,
    categories: Mutex<Option<(Version, Arc<Vec<CategoryCount>>)>>,
}

impl SearchCache {
    pub fn new(hub: Arc<Hub>, store: Store) -> Self {
        SearchCache {
            hub,
            store,
            edits: AtomicU64::new(0),
            pages: quick_cache::sync::Cache::new(PAGES),
            categories: Mutex::new(None),
        }
    }

    /// A category or an image changed: what was read before may show it wrong.
    pub fn edited(&self) {
        self.edits.fetch_add(1, Ordering::AcqRel);
    }

    /// Read before the database, so a result is never newer than the version it is kept at.
    fn version(&self) -> Version {
        (self.hub.latest_id(), self.edits.load(Ordering::Acquire))
    }

    /// The page of lots `query` asks for, and the hub's latest event id when it was read (a
    /// live list resumes from there).
    pub async fn search(&self, query: &LotQuery) -> Result<(i64, Arc<LotPage>), sqlx::Error> {
        let version = self.version();
        // Lots enter these states only by an event; offers and scheduled lots change without one.
        let evented = matches!(
            query.status,
            Some(LotStatus::Open | LotStatus::Closed | LotStatus::Cancelled) | None
        );
        let key = (evented && query.seller.is_none() && query.sale.is_none()).then(|| Key {
            q: query.q.trim().to_owned(),
            category: query.category.clone(),
            status: query.status.map_or("open", |s| s.as_str()),
            sort: query.sort.as_str(),
            page: query.page,
            per_page: query.per_page,
        });
        if let Some(found) = key.as_ref().and_then(|k| self.pages.get(k))
            && found.version == version
        {
            return Ok((found.version.0, found.page.clone()));
        }
        let page = Arc::new(self.store.search_lots(query).await?);
        if let Some(key) = key {
            let found = Found {
                version,
                page: page.clone(),
            };
            self.pages.insert(key, Arc::new(found));
        }
        Ok((version.0, page))
    }

    /// Every category with its open lots.
    pub async fn categories(&self) -> Result<Arc<Vec<CategoryCount>>, sqlx::Error> {
        let version = self.version();
        if let Ok(kept) = self.categories.lock()
            && let Some((at, list)) = kept.as_ref()
            && *at == version
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.store.categories().await?);
        if let Ok(mut kept) = self.categories.lock() {
            *kept = Some((version, list.clone()));
        }
        Ok(list)
    }
}
