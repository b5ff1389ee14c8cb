//! Page-numbered listing over a partition. DynamoDB has no OFFSET: earlier pages are
//! skipped with COUNT queries (no items transferred), then one page is read.

use super::{Db, Item, failed, from_item, n, s};
use crate::{
    ApiError,
    pagination::{Page, PageRequest},
};
use aws_sdk_dynamodb::{operation::query::builders::QueryFluentBuilder, types::Select};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A filter on top of the key condition; placeholders must not start with `#k`/`:k`.
#[derive(Default)]
pub(crate) struct Filter {
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
}

/// Items of one partition (optionally one index) whose sort key starts with a prefix.
pub(crate) struct Listing<'a> {
    pub table: &'a str,
    pub index: Option<&'a str>,
    pub partition_attribute: &'a str,
    pub partition: String,
    pub sort_attribute: &'a str,
    pub sort_prefix: &'a str,
    pub filter: Filter,
}

impl Listing<'_> {
    fn query(&self, db: &Db) -> QueryFluentBuilder {
        let mut query = db
            .client
            .query()
            .table_name(self.table)
            .set_index_name(self.index.map(str::to_string))
            .key_condition_expression("#kp = :kp AND begins_with(#ks, :ks)")
            .expression_attribute_names("#kp", self.partition_attribute)
            .expression_attribute_names("#ks", self.sort_attribute)
            .expression_attribute_values(":kp", s(&self.partition))
            .expression_attribute_values(":ks", s(self.sort_prefix))
            .scan_index_forward(false);
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

    /// The exact number of matching items (reads the partition; use a counter when unfiltered).
    pub(crate) async fn count(&self, db: &Db) -> Result<u64, ApiError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let out = self
                .query(db)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(failed)?;
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
    ) -> Result<Vec<T>, ApiError> {
        let mut start = None;
        let mut to_skip = request.offset();
        while to_skip > 0 {
            // Limit bounds the items evaluated, so a filtered count never overshoots.
            let out = self
                .query(db)
                .select(Select::Count)
                .limit(to_skip.min(1_000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(failed)?;
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
                .send()
                .await
                .map_err(failed)?;
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
    ) -> Result<Page<T>, ApiError> {
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

/// Attribute values of a counter item.
pub(crate) const COUNTER_SORT_KEY: &str = "#count";

/// The count kept on a partition's counter item (0 when there is none yet).
pub(crate) async fn read_counter(db: &Db, table: &str, partition: &str) -> Result<u64, ApiError> {
    let out = db
        .client
        .get_item()
        .table_name(table)
        .key("pk", s(partition))
        .key("sk", s(COUNTER_SORT_KEY))
        .consistent_read(true)
        .send()
        .await
        .map_err(failed)?;
    Ok(out
        .item
        .and_then(|item| {
            item.get("count")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0))
}

/// A write that moves a partition's counter by `delta`, refusing to pass `max`.
pub(crate) fn counter_write(
    table: &str,
    partition: &str,
    delta: i64,
    max: Option<u64>,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, ApiError> {
    let mut update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .key("pk", s(partition))
        .key("sk", s(COUNTER_SORT_KEY))
        .update_expression("SET #c = if_not_exists(#c, :zero) + :delta")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":delta", n(delta));
    if let Some(max) = max {
        update = update
            .condition_expression("attribute_not_exists(#c) OR #c < :max")
            .expression_attribute_values(":max", n(max));
    }
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(update.build().map_err(ApiError::internal)?)
        .build())
}
