//! Exact totals without hot items.
//!
//! DynamoDB serialises the writes to one item and cancels transactions that meet on
//! one, so a count that every create writes would be a queue all of a tenant's writes
//! stand in. Totals are therefore spread over [`SHARDS`] items, each write adding to one
//! at random, and read as their sum in one query. Only a total that enforces a quota is
//! kept in one item, since the quota's condition must see the whole count; what has a
//! quota (endpoints, blacklists, rules) is created rarely, and the conflicts that remain
//! are retried by the transaction.

use super::{Db, Item, error::Sent, error::StoreError, n, s};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

/// Shards of an unlimited total and of each day's count. With 16, sixteen concurrent
/// writers of one tenant (the delivery benchmark's publishers) met on a shard in about
/// 60% of their transactions, and one in a few hundred requests was still cancelled
/// after every retry (a 503). With 64 a writer meets another in about 20%; a count
/// reads 64 small items per day of its window.
pub(crate) const SHARDS: u32 = 64;
const TOTAL: &str = "#total";
const DAY: &str = "#day#";

/// Whether a partition's total enforces a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quota {
    /// No quota: the total is sharded.
    None,
    /// The total is one item; `Some(max)` refuses to pass `max` (creates), `None` only
    /// counts (deletes of a limited kind).
    Limited(Option<u64>),
}

fn shard() -> u32 {
    rand::random_range(0..SHARDS)
}

/// A write that moves a partition's total by `delta`.
pub(crate) fn total_write(
    table: &str,
    partition: &str,
    delta: i64,
    quota: Quota,
) -> Result<TransactWriteItem, StoreError> {
    let key = match quota {
        Quota::None => format!("{TOTAL}#{:02}", shard()),
        Quota::Limited(_) => TOTAL.to_string(),
    };
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(partition))
        .key("sk", s(key))
        .update_expression("ADD #c :delta")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":delta", n(delta));
    if let Quota::Limited(Some(max)) = quota {
        update = update
            .condition_expression("attribute_not_exists(#c) OR #c < :max")
            .expression_attribute_values(":max", n(max));
    }
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(StoreError::internal)?)
        .build())
}

/// `write` again, on another shard if it adds to a sharded count: a transaction that met
/// another on a shard tries a different one when it is sent again, instead of queueing
/// behind the same item (every other write is returned as it was).
pub(crate) fn on_another_shard(write: &TransactWriteItem) -> TransactWriteItem {
    let Some(update) = write.update() else {
        return write.clone();
    };
    let Some(sk) = update.key().get("sk").and_then(|v| v.as_s().ok()) else {
        return write.clone();
    };
    let sharded = sk.starts_with(&format!("{TOTAL}#")) || sk.starts_with(DAY);
    let Some((unsharded, _)) = sk.rsplit_once('#').filter(|_| sharded) else {
        return write.clone();
    };
    let mut update = update.clone();
    update
        .key
        .insert("sk".into(), s(format!("{unsharded}#{:02}", shard())));
    TransactWriteItem::builder().update(update).build()
}

fn count_of(item: &Item) -> i64 {
    super::number(item, "count").unwrap_or(0)
}

/// The sum of the counters whose sort keys lie from `from` to `to`, read consistently.
async fn sum(
    db: &Db,
    table: &str,
    partition: &str,
    from: String,
    to: String,
) -> Result<u64, StoreError> {
    let mut total = 0i64;
    let mut start = None;
    loop {
        let out = db
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":from", s(&from))
            .expression_attribute_values(":to", s(&to))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .sent()
            .await?;
        total += out.items().iter().map(count_of).sum::<i64>();
        start = out.last_evaluated_key;
        if start.is_none() {
            // One shard may count more deletes than creates; the sum is exact.
            return Ok(total.max(0) as u64);
        }
    }
}

/// A partition's total: every shard (and the single item of a limited kind).
pub(crate) async fn read_total(db: &Db, table: &str, partition: &str) -> Result<u64, StoreError> {
    sum(
        db,
        table,
        partition,
        TOTAL.to_string(),
        format!("{TOTAL}#~"),
    )
    .await
}

/// A write that counts `count` more items created on `at`'s day.
pub(crate) fn day_write(
    table: &str,
    partition: &str,
    at: crate::Timestamp,
    count: u64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(partition))
        .key(
            "sk",
            s(format!("{DAY}{}#{:02}", super::paging::day_of(at), shard())),
        )
        .update_expression("ADD #c :count")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":count", n(count))
        .build()
        .map_err(StoreError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Items counted on the days from `from`'s on: the exact size of an unfiltered list.
pub(crate) async fn read_days(
    db: &Db,
    table: &str,
    partition: &str,
    from: crate::Timestamp,
) -> Result<u64, StoreError> {
    let first = format!("{DAY}{}", super::paging::day_of(from));
    sum(db, table, partition, first, format!("{DAY}~")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sort_key(write: &TransactWriteItem) -> String {
        let sk = &write.update().expect("an update").key()["sk"];
        sk.as_s().expect("a string key").clone()
    }

    #[test]
    fn a_sharded_count_moves_to_random_shards_and_a_quota_total_stays_one_item() {
        let day = day_write("t", "p", crate::Timestamp::now(), 1).unwrap();
        let prefix = sort_key(&day).rsplit_once('#').unwrap().0.to_string();
        let shards: std::collections::HashSet<String> = (0..200)
            .map(|_| sort_key(&on_another_shard(&day)))
            .collect();
        assert!(shards.len() > 20, "{} shards used", shards.len());
        assert!(
            shards
                .iter()
                .all(|sk| sk.starts_with(&format!("{prefix}#")))
        );

        let total = total_write("t", "p", 1, Quota::None).unwrap();
        assert!(sort_key(&on_another_shard(&total)).starts_with("#total#"));

        let limited = total_write("t", "p", 1, Quota::Limited(Some(10))).unwrap();
        assert_eq!(on_another_shard(&limited), limited);
        assert_eq!(sort_key(&on_another_shard(&limited)), "#total");
    }
}
