//! Search results and the category list, kept until the catalogue changes. Every change that
//! shows in a result is either an event (a bid, an opening, a close: the hub's latest id moves)
//! or a catalogue edit (a category or an image, counted here), so a result read at version V is
//! exact for as long as the version is V: nothing is ever served stale. The same search asked
//! again is then a memory read (measured: ~2 ms of database work per search page otherwise),
//! and after a change one request reads it afresh while the others asking for it wait for that
//! read (measured: 64 clients all missing at each of 100 bids a second held search at 260
//! pages/s). The category list's counts of open lots may be a second old.
//!
//! Open lots ending soonest (the front page's order) outlive most events: a plain bid changes
//! its own lot's price, not which lots are open or when they end, so a page of them stays exact
//! through bids on lots it does not show (measured: 100 bids a second elsewhere took the
//! search from 26,000–36,000 pages/s to 10,000–20,000 before this).

use crate::domain::LotStatus;
use crate::live::Hub;
use crate::store::Store;
use crate::store::categories::CategoryCount;
use crate::store::search::{LotPage, LotQuery, Sort};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The catalogue's version: the hub's latest event id and the count of catalogue edits.
type Version = (i64, u64);

/// A search as the cache knows it, at a version: only public ones (no seller, no sale) are kept.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    version: Version,
    q: String,
    category: Option<String>,
    status: &'static str,
    sort: &'static str,
    page: i64,
    per_page: i64,
}

/// The category list as read: at which edit count, when, and what.
type KeptCategories = (u64, std::time::Instant, Arc<Vec<CategoryCount>>);

/// How long the category list's counts may lag.
const CATEGORIES_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Searches kept at once.
const PAGES: usize = 2_048;
/// Past this many events since a page was read, it is read again rather than checked.
const CHECK_AT_MOST: usize = 4_096;

/// A page of open lots ending soonest, and the event id it is exact at.
struct Kept {
    at: i64,
    page: Arc<LotPage>,
}

pub struct SearchCache {
    hub: Arc<Hub>,
    store: Store,
    edits: AtomicU64,
    pages: quick_cache::sync::Cache<Key, Arc<LotPage>>,
    /// The last page read of each search of open lots ending soonest, keyed at event id 0.
    ending: quick_cache::sync::Cache<Key, Arc<Kept>>,
    categories: Mutex<Option<KeptCategories>>,
}

impl SearchCache {
    pub fn new(hub: Arc<Hub>, store: Store) -> Self {
        SearchCache {
            hub,
            store,
            edits: AtomicU64::new(0),
            pages: quick_cache::sync::Cache::new(PAGES),
            ending: quick_cache::sync::Cache::new(PAGES),
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
            version,
            q: query.q.trim().to_owned(),
            category: query.category.clone(),
            status: query.status.map_or("open", |s| s.as_str()),
            sort: query.sort.as_str(),
            page: query.page,
            per_page: query.per_page,
        });
        let Some(key) = key else {
            return Ok((version.0, Arc::new(self.store.search_lots(query).await?)));
        };
        let by_ending = query.sort == Sort::Ending && key.status == "open";
        let lasting = Key {
            version: (0, version.1),
            ..key.clone()
        };
        if by_ending
            && let Some(kept) = self.ending.get(&lasting)
            && self.still_exact(&kept, version.0)
        {
            if kept.at != version.0 {
                // Checked up to now: the next request checks only what comes after.
                let page = kept.page.clone();
                self.ending.insert(
                    lasting,
                    Arc::new(Kept {
                        at: version.0,
                        page,
                    }),
                );
            }
            return Ok((version.0, kept.page.clone()));
        }
        let page = self
            .pages
            .get_or_insert_async(&key, async {
                self.store.search_lots(query).await.map(Arc::new)
            })
            .await?;
        if by_ending {
            let kept = Kept {
                at: version.0,
                page: page.clone(),
            };
            self.ending.insert(lasting, Arc::new(kept));
        }
        Ok((version.0, page))
    }

    /// Whether a page of open lots ending soonest, read at `kept.at`, is still exact at
    /// `latest`: every event since is a plain bid on a lot the page does not show.
    fn still_exact(&self, kept: &Kept, latest: i64) -> bool {
        if kept.at == latest {
            return true;
        }
        let Some(changes) = self.hub.changes_since(kept.at, CHECK_AT_MOST) else {
            return false;
        };
        changes
            .iter()
            .all(|(lot, only_bid)| *only_bid && !kept.page.lots.iter().any(|l| l.id() == *lot))
    }

    /// Every category with its open lots.
    pub async fn categories(&self) -> Result<Arc<Vec<CategoryCount>>, sqlx::Error> {
        let edits = self.edits.load(Ordering::Acquire);
        if let Ok(kept) = self.categories.lock()
            && let Some((at, read, list)) = kept.as_ref()
            && *at == edits
            && read.elapsed() < CATEGORIES_FOR
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.store.categories().await?);
        if let Ok(mut kept) = self.categories.lock() {
            *kept = Some((edits, std::time::Instant::now(), list.clone()));
        }
        Ok(list)
    }
}
