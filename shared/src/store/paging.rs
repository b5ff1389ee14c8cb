//! Page-numbered listing over a partition. DynamoDB has no OFFSET: earlier pages are
//! skipped with COUNT queries (no items transferred), then one page is read.

use super::{Db, Item, StoreError, error::Sent, from_item, s};
use crate::pagination::{Page, PageRequest};
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

impl Listing<'_> {
    fn query(&self, db: &Db) -> QueryFluentBuilder {
        let mut query = db
            .client
            .query()
            .table_name(self.table)
            .set_index_name(self.index.map(str::to_string))
            .expression_attribute_names("#kp", self.partition_attribute)
            .expression_attribute_names("#ks", self.sort_attribute)
            .expression_attribute_values(":kp", s(&self.partition))
            .scan_index_forward(false);
        query = match &self.sort_from {
            None => query
                .key_condition_expression("#kp = :kp AND begins_with(#ks, :ks)")
                .expression_attribute_values(":ks", s(self.sort_prefix)),
            // '~' sorts after every id character, closing the prefix's range.
            Some(from) => query
                .key_condition_expression("#kp = :kp AND #ks BETWEEN :from AND :to")
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(format!("{}~", self.sort_prefix))),
        };
        if !self.filter.is_empty() {
            query = query.filter_expression(self.filter.clauses.join(" AND "));
            for (k, v) in &self.filter.names {
                query = query.expression_attribute_names(k, v);
            }
            for (k, v) in &self.filter.values {
                query = query.expression_attribute_values(k, v.clone());
            }
        }
        query
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

    /// The exact number of matching items (reads the partition; use a counter when unfiltered).
    pub(crate) async fn count(&self, db: &Db) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let out = self
                .query(db)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .sent()
                .await?;
            total += out.count().max(0) as u64;
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// The items of one page, newest first.
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        db: &Db,
        request: PageRequest,
    ) -> Result<Vec<T>, StoreError> {
        let mut start = None;
        let mut to_skip = request.offset();
        while to_skip > 0 {
            // Limit bounds the items evaluated, so a filtered count never overshoots.
            let out = self
                .query(db)
                .select(Select::Count)
                .limit(to_skip.min(1_000) as i32)
                .set_exclusive_start_key(start)
                .sent()
                .await?;
            to_skip -= (out.count().max(0) as u64).min(to_skip);
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
            for item in out.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if items.len() >= wanted || start.is_none() {
                return Ok(items);
            }
        }
    }

    /// One page and the total: the total from `counter` when there is no filter.
    pub(crate) async fn fetch<T: DeserializeOwned>(
        &self,
        db: &Db,
        request: PageRequest,
        counter: Option<u64>,
    ) -> Result<Page<T>, StoreError> {
        let total = match counter {
            Some(total) if self.filter.is_empty() => total,
            _ => self.count(db).await?,
        };
        let items = if request.offset() >= total {
            Vec::new()
        } else {
            self.page(db, request).await?
        };
        Ok(Page {
            items,
            total,
            request,
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
pub(crate) fn first_id_at(prefix: &str, from: crate::Timestamp) -> String {
    format!(
        "{prefix}{}",
        ulid::Ulid::from_parts(from.as_millis().max(0) as u64, 0)
    )
}

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

    #[test]
    fn ids_made_from_the_window_start_on_sort_after_its_bound() {
        let from = Timestamp::parse("2026-11-21T00:00:00.000+00:00").unwrap();
        let bound = first_id_at("evt_", from);
        let later = format!(
            "evt_{}",
            ulid::Ulid::from_parts(from.as_millis() as u64 + 1, 5)
        );
        let earlier = format!(
            "evt_{}",
            ulid::Ulid::from_parts(from.as_millis() as u64 - 1, u128::MAX >> 48)
        );
        assert!(bound < later && earlier < bound);
    }
}
