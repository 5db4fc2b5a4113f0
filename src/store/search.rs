//! Finding lots (API.md §8): words through the FTS5 index, filters and sorts on `lots`, one page
//! at a time with the total.

use super::Store;
use super::lots::{LOT_SELECT_FROM, LotRow, into_lots};
use crate::domain::{Lot, LotStatus};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

/// At most this many words of a query are searched for; the rest are ignored.
const MAX_WORDS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Ending soonest first (for finished lots: the latest to finish first).
    #[default]
    Ending,
    Newest,
    PriceAsc,
    PriceDesc,
    /// Most bids first.
    Bids,
}

impl Sort {
    pub fn parse(raw: &str) -> Option<Sort> {
        Some(match raw {
            "ending" => Sort::Ending,
            "newest" => Sort::Newest,
            "price_asc" => Sort::PriceAsc,
            "price_desc" => Sort::PriceDesc,
            "bids" => Sort::Bids,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Ending => "ending",
            Sort::Newest => "newest",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Bids => "bids",
        }
    }

    fn order_by(self, status: LotStatus) -> &'static str {
        match (self, status) {
            // Both follow an index (lots_status_ends, lots_category): a page stops at its end.
            (Sort::Ending, LotStatus::Open) => " ORDER BY l.ends_at, l.id",
            (Sort::Ending, LotStatus::Scheduled) => " ORDER BY l.sale_id, l.lot_number, l.id",
            (Sort::Ending, LotStatus::Pending | LotStatus::Rejected) => {
                " ORDER BY l.created_at DESC, l.id DESC"
            }
            (Sort::Ending, _) => " ORDER BY l.closed_at DESC, l.id DESC",
            (Sort::Newest, _) => " ORDER BY l.created_at DESC, l.id DESC",
            (Sort::PriceAsc, _) => {
                " ORDER BY COALESCE(l.current_price_cents, l.starting_price_cents), l.ends_at, l.id"
            }
            (Sort::PriceDesc, _) => {
                " ORDER BY COALESCE(l.current_price_cents, l.starting_price_cents) DESC, l.ends_at, l.id"
            }
            (Sort::Bids, _) => " ORDER BY l.bid_count DESC, l.ends_at, l.id",
        }
    }
}

/// What a searcher asks for.
#[derive(Debug, Clone, Default)]
pub struct LotQuery {
    /// The words typed, as typed.
    pub q: String,
    pub category: Option<String>,
    pub status: Option<LotStatus>,
    pub sort: Sort,
    /// 1, 2, …
    pub page: i64,
    pub per_page: i64,
    /// Only this seller's lots (for offers others may not see).
    pub seller: Option<Uuid>,
    /// Only this sale's lots.
    pub sale: Option<Uuid>,
}

pub struct LotPage {
    pub lots: Vec<Lot>,
    pub total: i64,
}

/// The FTS5 expression for what someone typed: every word must appear (case and accents
/// ignored by the index's tokenizer), the last one as a prefix, since it may be half typed.
/// Each word is quoted, so nothing typed is read as FTS syntax. `None` when no word is left.
pub fn match_expression(typed: &str) -> Option<String> {
    let words: Vec<&str> = typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect();
    let (last, rest) = words.split_last()?;
    let mut expr = String::new();
    for w in rest {
        expr.push('"');
        expr.push_str(w);
        expr.push_str("\" ");
    }
    expr.push('"');
    expr.push_str(last);
    expr.push_str("\"*");
    Some(expr)
}

/// A category as the index holds it: `c` and the slug's bytes in hex, one token.
fn category_token(slug: &str) -> String {
    format!("c{}", hex::encode(slug.as_bytes()))
}

impl Store {
    #[tracing::instrument(skip(self))]
    pub async fn search_lots(&self, query: &LotQuery) -> Result<LotPage, sqlx::Error> {
        let status = query.status.unwrap_or(LotStatus::Open);
        // Words and a category meet inside the index (see migration 9).
        let words = match_expression(&query.q).map(|words| match &query.category {
            Some(c) => format!("({words}) AND category:{}", category_token(c)),
            None => words,
        });
        let mut sql = QueryBuilder::<Sqlite>::new("");
        // With words, the index's matches are the few rows to look at: `+` keeps SQLite from
        // walking a status or category index instead and testing every lot in it against them.
        let plus = if words.is_some() { "+" } else { "" };
        let filters = |sql: &mut QueryBuilder<Sqlite>| {
            sql.push(" WHERE ")
                .push(plus)
                .push("l.status = ")
                .push_bind(status.as_str());
            if let Some(words) = &words {
                sql.push(
                    " AND l.id IN (SELECT lot_id FROM lot_keys WHERE key IN
                        (SELECT rowid FROM lot_search WHERE lot_search MATCH ",
                )
                .push_bind(words.clone())
                .push("))");
            }
            if let Some(c) = &query.category {
                sql.push(" AND ")
                    .push(plus)
                    .push("l.category = ")
                    .push_bind(c.clone());
            }
            if let Some(s) = query.seller {
                sql.push(" AND l.seller_id = ").push_bind(s.to_string());
            }
            if let Some(s) = query.sale {
                sql.push(" AND l.sale_id = ").push_bind(s.to_string());
            }
        };
        sql.push(LOT_SELECT_FROM);
        filters(&mut sql);
        sql.push(query.sort.order_by(status))
            .push(" LIMIT ")
            .push_bind(query.per_page)
            .push(" OFFSET ")
            .push_bind((query.page - 1).max(0) * query.per_page);
        let rows: Vec<LotRow> = sql.build_query_as().fetch_all(&self.pool).await?;
        let lots = into_lots(rows)?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM lots l");
        filters(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(LotPage { lots, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_words_become_a_quoted_expression_with_a_prefix_last() {
        assert_eq!(
            match_expression("Brass lamp").as_deref(),
            Some("\"Brass\" \"lamp\"*")
        );
        assert_eq!(
            match_expression("  \"OR\" NEAR(x) *").as_deref(),
            Some("\"OR\" \"NEAR\" \"x\"*")
        );
        assert_eq!(match_expression("café").as_deref(), Some("\"café\"*"));
        assert_eq!(match_expression(" -- ").as_deref(), None);
        assert_eq!(
            match_expression(&"w ".repeat(100)).map(|e| e.matches('"').count()),
            Some(24)
        );
    }
}
