//! Page-numbered listing over a partition. DynamoDB has no OFFSET: earlier pages are
//! skipped with COUNT queries (no items transferred), then one page is read.

use super::{Db, Item, Rejection, StoreError, error::Sent, from_item, s};
use crate::pagination::{Cursor, CursorLinks, MAX_EVALUATED, Page, PageRequest};
use crate::t;
use aws_sdk_dynamodb::{operation::query::builders::QueryFluentBuilder, types::Select};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A filter on top of the key condition; placeholders must not start with `#k`/`:k`.
#[derive(Default)]
pub struct Filter {
    clauses: Vec<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Filter {
    pub(crate) fn clause(
        mut self,
        clause: impl Into<String>,
        names: &[(&str, &str)],
        values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
    ) -> Self {
        self.clauses.push(clause.into());
        self.names
            .extend(names.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.values
            .extend(values.into_iter().map(|(k, v)| (k.to_string(), v)));
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.clauses.len()
    }

    /// `query`, narrowed by this filter (if it says anything).
    pub(crate) fn apply(&self, mut query: QueryFluentBuilder) -> QueryFluentBuilder {
        if self.is_empty() {
            return query;
        }
        query = query.filter_expression(self.clauses.join(" AND "));
        for (k, v) in &self.names {
            query = query.expression_attribute_names(k, v);
        }
        for (k, v) in &self.values {
            query = query.expression_attribute_values(k, v.clone());
        }
        query
    }
}

/// Items of one partition (optionally one index) whose sort key starts with a prefix.
pub(crate) struct Listing<'a> {
    pub table: &'a str,
    pub index: Option<&'a str>,
    pub partition_attribute: &'a str,
    pub partition: String,
    pub sort_attribute: &'a str,
    pub sort_prefix: &'a str,
    /// Only sort keys from this one on (a retention window), when set.
    pub sort_from: Option<String>,
    pub filter: Filter,
}

/// Which stretch of the sort keys a query reads, and in which direction.
#[derive(Default)]
struct Range {
    /// Inclusive bounds; `None` means the listing's own.
    from: Option<String>,
    to: Option<String>,
    ascending: bool,
}

impl Listing<'_> {
    fn query(&self, db: &Db) -> QueryFluentBuilder {
        self.query_range(db, &Range::default())
    }

    fn query_range(&self, db: &Db, range: &Range) -> QueryFluentBuilder {
        let mut query = db
            .client
            .query()
            .table_name(self.table)
            .set_index_name(self.index.map(str::to_string))
            .expression_attribute_names("#kp", self.partition_attribute)
            .expression_attribute_names("#ks", self.sort_attribute)
            .expression_attribute_values(":kp", s(&self.partition))
            .scan_index_forward(range.ascending);
        let from = range.from.clone().or_else(|| self.sort_from.clone());
        query = match (from, &range.to) {
            (None, None) => query
                .key_condition_expression("#kp = :kp AND begins_with(#ks, :ks)")
                .expression_attribute_values(":ks", s(self.sort_prefix)),
            // '~' sorts after every id character, closing the prefix's range.
            (from, to) => query
                .key_condition_expression("#kp = :kp AND #ks BETWEEN :from AND :to")
                .expression_attribute_values(
                    ":from",
                    s(from.unwrap_or_else(|| self.sort_prefix.to_string())),
                )
                .expression_attribute_values(
                    ":to",
                    s(to.clone()
                        .unwrap_or_else(|| format!("{}~", self.sort_prefix))),
                ),
        };
        self.filter.apply(query)
    }

    /// Every matching item (for sets bounded by a quota).
    pub(crate) async fn all_items(&self, db: &Db) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self.query(db).set_exclusive_start_key(start).sent().await?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The number of matching items, and whether it is exact: counting stops after
    /// [`MAX_EVALUATED`] stored items (use a counter when unfiltered).
    pub(crate) async fn count(&self, db: &Db) -> Result<(u64, bool), StoreError> {
        let mut total = 0u64;
        let mut evaluated = 0u64;
        let mut start = None;
        loop {
            let out = self
                .query(db)
                .select(Select::Count)
                .limit((MAX_EVALUATED - evaluated).min(1_000) as i32)
                .set_exclusive_start_key(start)
                .sent()
                .await?;
            total += out.count().max(0) as u64;
            evaluated += out.scanned_count().max(0) as u64;
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok((total, true));
            }
            if evaluated >= MAX_EVALUATED {
                return Ok((total, false));
            }
        }
    }

    /// The items of one numbered page, newest first. Skipping evaluates at most
    /// [`MAX_EVALUATED`] items; a filtered page deeper than that is refused.
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        db: &Db,
        request: &PageRequest,
    ) -> Result<Vec<T>, StoreError> {
        let mut start = None;
        let mut to_skip = request.offset();
        let mut evaluated = 0u64;
        while to_skip > 0 {
            if evaluated >= MAX_EVALUATED {
                return Err(StoreError::Rejected(Rejection::Invalid(t!(
                    "Page is too deep for this filter (more than {max} items to skip); \
                     list further with starting_after",
                    max = MAX_EVALUATED
                ))));
            }
            // Limit bounds the items evaluated, so a filtered count never overshoots.
            let out = self
                .query(db)
                .select(Select::Count)
                .limit(to_skip.min(1_000).min(MAX_EVALUATED - evaluated) as i32)
                .set_exclusive_start_key(start)
                .sent()
                .await?;
            to_skip -= (out.count().max(0) as u64).min(to_skip);
            evaluated += out.scanned_count().max(0) as u64;
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(Vec::new());
            }
        }
        let wanted = request.per_page as usize;
        let mut items = Vec::with_capacity(wanted);
        loop {
            let out = self
                .query(db)
                .limit((wanted - items.len()) as i32)
                .set_exclusive_start_key(start)
                .sent()
                .await?;
            evaluated += out.scanned_count().max(0) as u64;
            for item in out.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if items.len() >= wanted || start.is_none() || evaluated >= 2 * MAX_EVALUATED {
                return Ok(items);
            }
        }
    }

    /// The sort key a cursor (an id) stands for.
    fn cursor_key(&self, id: &str) -> String {
        if id.starts_with(self.sort_prefix) {
            id.to_string()
        } else {
            format!("{}{id}", self.sort_prefix)
        }
    }

    /// The id a sort key shows as (`type#name` lists by name).
    fn cursor_id(&self, key: &str) -> String {
        match self.sort_prefix.ends_with('#') {
            true => key
                .strip_prefix(self.sort_prefix)
                .unwrap_or(key)
                .to_string(),
            false => key.to_string(),
        }
    }

    /// One page next to a cursor, newest first, evaluating at most [`MAX_EVALUATED`]
    /// items: fewer than `per_page` items and a link onward mean a sparse filter.
    async fn cursor_page<T: DeserializeOwned>(
        &self,
        db: &Db,
        cursor: &Cursor,
        per_page: u32,
    ) -> Result<(Vec<T>, CursorLinks), StoreError> {
        let (key, range) = match cursor {
            Cursor::StartingAfter(id) => {
                let key = self.cursor_key(id);
                let range = Range {
                    from: None,
                    to: Some(key.clone()),
                    ascending: false,
                };
                (key, range)
            }
            Cursor::EndingBefore(id) => {
                let key = self.cursor_key(id);
                let range = Range {
                    from: Some(key.clone()),
                    to: None,
                    ascending: true,
                };
                (key, range)
            }
        };
        let wanted = per_page as usize;
        let mut items: Vec<(String, Item)> = Vec::with_capacity(wanted);
        let mut start = None;
        let mut evaluated = 0u64;
        // Where reading stopped, when there may be more beyond.
        let onward = loop {
            let out = self
                .query_range(db, &range)
                .limit((wanted - items.len() + 2) as i32)
                .set_exclusive_start_key(start)
                .sent()
                .await?;
            evaluated += out.scanned_count().max(0) as u64;
            let mut rest = out.items.unwrap_or_default().into_iter();
            for item in rest.by_ref() {
                let sort = item
                    .get(self.sort_attribute)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                if sort == key {
                    continue;
                }
                items.push((sort, item));
                if items.len() == wanted {
                    break;
                }
            }
            let full = items.len() == wanted;
            start = out.last_evaluated_key;
            if full {
                let more = rest.next().is_some() || start.is_some();
                break more.then(|| items[wanted - 1].0.clone());
            }
            let Some(position) = &start else {
                break None;
            };
            if evaluated >= MAX_EVALUATED {
                break position
                    .get(self.sort_attribute)
                    .and_then(|v| v.as_s().ok())
                    .cloned();
            }
        };
        let toward = |sort: Option<&String>| sort.map(|k| self.cursor_id(k));
        let links = match cursor {
            Cursor::StartingAfter(_) => CursorLinks {
                older: toward(onward.as_ref()),
                newer: toward(items.first().map(|(k, _)| k)),
            },
            Cursor::EndingBefore(_) => {
                items.reverse();
                CursorLinks {
                    older: toward(items.last().map(|(k, _)| k)),
                    newer: toward(onward.as_ref()),
                }
            }
        };
        let items = items
            .into_iter()
            .map(|(_, item)| from_item(item))
            .collect::<Result<_, _>>()?;
        Ok((items, links))
    }

    /// One page and the total: the total from `counter` when there is no filter; a
    /// cursor page counts nothing.
    pub(crate) async fn fetch<T: DeserializeOwned>(
        &self,
        db: &Db,
        request: PageRequest,
        counter: Option<u64>,
    ) -> Result<Page<T>, StoreError> {
        if let Some(cursor) = &request.cursor {
            let (items, links) = self.cursor_page(db, cursor, request.per_page).await?;
            return Ok(Page {
                items,
                total: 0,
                exact: false,
                request,
                cursors: Some(links),
            });
        }
        let (total, exact) = match counter {
            Some(total) if self.filter.is_empty() => (total, true),
            _ => self.count(db).await?,
        };
        let items = if exact && request.offset() >= total {
            Vec::new()
        } else {
            self.page(db, &request).await?
        };
        Ok(Page {
            items,
            total,
            exact,
            request,
            cursors: None,
        })
    }
}

/// The first instant of the retention window: the start of the UTC day `days - 1`
/// days before `now`. Items of earlier days are no longer listed or counted.
pub(crate) fn window_start(now: crate::Timestamp, days: u32) -> crate::Timestamp {
    const DAY_MS: i64 = 86_400_000;
    let today = now.as_millis().div_euclid(DAY_MS);
    crate::Timestamp::from_millis((today - i64::from(days.max(1)) + 1) * DAY_MS)
}

/// When DynamoDB may delete an item created at `created`: a day after it left the window.
pub(crate) fn expiry_epoch(created: crate::Timestamp, days: u32) -> i64 {
    const DAY_S: i64 = 86_400;
    (created.as_epoch_seconds().div_euclid(DAY_S) + i64::from(days) + 1) * DAY_S
}

/// The smallest sort key of an id made at or after `from` (`{prefix}{ULID}`).
/// The UTC day of `at`, `YYYY-MM-DD`: what per-day counters are keyed by.
pub(crate) fn day_of(at: crate::Timestamp) -> String {
    at.to_string()[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    #[test]
    fn the_window_starts_at_midnight_and_expiry_follows_it() {
        let now = Timestamp::parse("2026-11-21T15:30:00.000+00:00").unwrap();
        assert_eq!(
            window_start(now, 30).to_string(),
            "2026-10-23T00:00:00.000+00:00"
        );
        assert_eq!(
            window_start(now, 1).to_string(),
            "2026-11-21T00:00:00.000+00:00"
        );
        let expiry = Timestamp::from_millis(expiry_epoch(now, 30) * 1000);
        assert_eq!(expiry.to_string(), "2026-12-22T00:00:00.000+00:00");
        assert!(
            window_start(expiry, 30) > now,
            "expired items are outside the window"
        );
    }
}
