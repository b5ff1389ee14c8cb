//! Lists of logs. An event's logs are its deliveries' own items and its group's entries
//! (`group`), all under one sort-key prefix (`log_<ulid>`): a reader takes each event
//! whole, lets a delivery's own item win over its group entry, applies the filter to the
//! logs (a group's entries differ in endpoint), and gives them in id order. Pages and
//! cursors are by log id, as the API shows them; the work per request stays bounded by
//! [`MAX_EVALUATED`] stored items, as every list's does.

use super::{
    super::{Db, Item, Rejection, StoreError, error::Sent, from_item, paging::Filter, s, to_value},
    LogFilter, group,
};
use crate::{
    ids::LogId,
    pagination::{Cursor, CursorLinks, MAX_EVALUATED, PageRequest},
    t,
    webhooks::{LogStatus, WebhookLog},
};
use std::collections::{BTreeSet, VecDeque};

/// How a log id starts: `log_` and its event's ULID, the prefix every log and group of
/// that event shares.
const EVENT_KEY: usize = LogId::PREFIX.len() + 26;

/// The sort-key prefix of the event a key (a log id or a group's key) belongs to.
fn event_of(key: &str) -> &str {
    key.get(..EVENT_KEY).unwrap_or(key)
}

/// The highest key of the event `event` (its logs are `<event>_<hex>`, its group
/// `<event>_~`).
fn above_event(event: &str) -> String {
    format!("{event}_~")
}

/// The highest id a log of event `event` can have: where an oldest-first reader that
/// stopped after that event goes on.
fn last_of_event(event: &str) -> String {
    format!("{event}_ffffffffffff")
}

/// Which logs of a tenant, in which order.
pub(super) struct Scope<'a> {
    pub db: &'a Db,
    pub partition: String,
    /// The lowest sort key listed (the retention window's, or `since`'s).
    pub from: String,
    pub filter: &'a LogFilter,
}

impl LogFilter {
    /// The part of the filter DynamoDB applies before an item leaves it: a log item
    /// must match; a group (`entries`) passes when some entry may, and its entries are
    /// filtered here ([`LogFilter::keeps`]). A log item that could hide a group entry the
    /// filter keeps is never held back.
    fn expression(&self) -> Result<Filter, StoreError> {
        let mut filter = Filter::default();
        if let Some(endpoint_id) = &self.endpoint_id {
            filter = filter.clause(
                "(endpoint_id = :endpoint OR attribute_exists(entries))",
                &[],
                vec![(":endpoint", s(endpoint_id))],
            );
        }
        if let Some(event) = &self.event {
            let clause = "#event = :event";
            filter = filter.clause(clause, &[("#event", "event")], vec![(":event", s(event))]);
        }
        // Not for `succeeded`: a delivery's own item in another status must still come
        // to hide its group entry (a grouped delivery retried by hand, and failed).
        if let Some(status) = self.status.filter(|s| *s != LogStatus::Succeeded) {
            let value = vec![(":status", to_value(&status)?)];
            filter = filter.clause("#status = :status", &[("#status", "status")], value);
        }
        Ok(filter)
    }

    fn keeps(&self, log: &WebhookLog) -> bool {
        self.endpoint_id
            .as_ref()
            .is_none_or(|id| log.endpoint_id.as_deref() == Some(id.as_str()))
            && self.event.as_ref().is_none_or(|event| log.event == *event)
            && self.status.is_none_or(|status| log.status == status)
    }
}

/// Reads a stretch of sort keys one event at a time.
struct Reader<'a> {
    scope: &'a Scope<'a>,
    /// Stored items a query reads at most.
    batch: i32,
    to: String,
    from: String,
    ascending: bool,
    start: Option<Item>,
    buffer: VecDeque<Item>,
    exhausted: bool,
    /// Stored items read so far.
    evaluated: u64,
}

impl<'a> Reader<'a> {
    fn new(scope: &'a Scope<'a>, from: String, to: String, ascending: bool) -> Self {
        Reader {
            scope,
            batch: 1_000,
            to,
            from,
            ascending,
            start: None,
            buffer: VecDeque::new(),
            exhausted: false,
            evaluated: 0,
        }
    }

    /// Newest first, from the top of the window.
    fn newest_first(scope: &'a Scope<'a>) -> Self {
        let to = format!("{}~", LogId::PREFIX);
        Self::new(scope, scope.from.clone(), to, false)
    }

    /// Reading at most `items` stored items a query: a page's worth, which each log
    /// needs at most one of (a group holds several).
    fn by(mut self, items: u64) -> Self {
        self.batch = items.clamp(10, 1_000) as i32;
        self
    }

    /// Reads the next page of items, if there is one.
    async fn fill(&mut self) -> Result<(), StoreError> {
        if self.exhausted {
            return Ok(());
        }
        let scope = self.scope;
        let query = scope
            .db
            .client
            .query()
            .table_name(&scope.db.tables.webhook_logs)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(&scope.partition))
            .expression_attribute_values(":from", s(&self.from))
            .expression_attribute_values(":to", s(&self.to))
            .scan_index_forward(self.ascending)
            .limit(self.batch)
            .set_exclusive_start_key(self.start.take());
        let out = scope.filter.expression()?.apply(query).sent().await?;
        self.evaluated += out.scanned_count().max(0) as u64;
        self.buffer.extend(out.items.unwrap_or_default());
        self.start = out.last_evaluated_key;
        self.exhausted = self.start.is_none();
        Ok(())
    }

    async fn peek_key(&mut self) -> Result<Option<String>, StoreError> {
        while self.buffer.is_empty() && !self.exhausted {
            self.fill().await?;
        }
        Ok(self.buffer.front().map(sort_key))
    }

    /// Whether anything is left to read (an item that may hold no matching log).
    async fn has_more(&mut self) -> Result<bool, StoreError> {
        Ok(self.peek_key().await?.is_some())
    }

    /// The next event's matching logs in reading order (none when the filter keeps
    /// none of them), with its sort-key prefix; `None` at the end.
    async fn next_event(&mut self) -> Result<Option<(String, Vec<WebhookLog>)>, StoreError> {
        let Some(first) = self.peek_key().await? else {
            return Ok(None);
        };
        let event = event_of(&first).to_string();
        let mut items = Vec::new();
        while let Some(key) = self.peek_key().await? {
            if event_of(&key) != event {
                break;
            }
            items.extend(self.buffer.pop_front());
        }
        let mut logs = expand(items)?;
        logs.retain(|log| self.scope.filter.keeps(log));
        match self.ascending {
            true => logs.sort_by(|a, b| a.id.cmp(&b.id)),
            false => logs.sort_by(|a, b| b.id.cmp(&a.id)),
        }
        Ok(Some((event, logs)))
    }
}

fn sort_key(item: &Item) -> String {
    item.get("sk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// One event's items as logs: its deliveries' own, and its group's entries that have none.
fn expand(items: Vec<Item>) -> Result<Vec<WebhookLog>, StoreError> {
    let mut own = Vec::new();
    let mut grouped = Vec::new();
    for item in items {
        let key = sort_key(&item);
        if group::is_group(&key) {
            let group: group::Group = from_item(item)?;
            grouped.extend(group.logs(&key));
        } else {
            own.push(from_item::<WebhookLog>(item)?);
        }
    }
    let made: BTreeSet<LogId> = own.iter().map(|log| log.id.clone()).collect();
    own.extend(grouped.into_iter().filter(|log| !made.contains(&log.id)));
    Ok(own)
}

/// The number of matching logs, and whether it is exact: counting stops after
/// [`MAX_EVALUATED`] stored items.
pub(super) async fn count(scope: &Scope<'_>) -> Result<(u64, bool), StoreError> {
    let mut reader = Reader::newest_first(scope);
    let mut total = 0;
    while let Some((_, logs)) = reader.next_event().await? {
        total += logs.len() as u64;
        if reader.evaluated >= MAX_EVALUATED {
            return Ok((total, !reader.has_more().await?));
        }
    }
    Ok((total, true))
}

/// The logs of one numbered page, newest first. Skipping evaluates at most
/// [`MAX_EVALUATED`] stored items; a page deeper than that is refused.
pub(super) async fn page(
    scope: &Scope<'_>,
    request: &PageRequest,
) -> Result<Vec<WebhookLog>, StoreError> {
    let mut to_skip = request.offset();
    let mut reader = Reader::newest_first(scope).by(to_skip + u64::from(request.per_page) + 2);
    let wanted = request.per_page as usize;
    let mut page = Vec::with_capacity(wanted);
    while let Some((_, logs)) = reader.next_event().await? {
        for log in logs {
            if to_skip > 0 {
                to_skip -= 1;
            } else if page.len() < wanted {
                page.push(log);
            }
        }
        if page.len() >= wanted || reader.evaluated >= 2 * MAX_EVALUATED {
            break;
        }
        if to_skip > 0 && reader.evaluated >= MAX_EVALUATED {
            return Err(StoreError::Rejected(Rejection::Invalid(t!(
                "Page is too deep for this filter (more than {max} items to skip); \
                 list further with starting_after",
                max = MAX_EVALUATED
            ))));
        }
    }
    Ok(page)
}

/// One page next to a cursor (a log id), newest first, evaluating at most
/// [`MAX_EVALUATED`] stored items: fewer than `per_page` logs and a link onward mean a
/// sparse filter.
pub(super) async fn cursor_page(
    scope: &Scope<'_>,
    cursor: &Cursor,
    per_page: u32,
) -> Result<(Vec<WebhookLog>, CursorLinks), StoreError> {
    let top = format!("{}~", LogId::PREFIX);
    let (mut reader, cursor_id) = match cursor {
        // The cursor's whole event is read again: its logs may sit in a group.
        Cursor::StartingAfter(id) => {
            let to = above_event(event_of(id));
            let reader = Reader::new(scope, scope.from.clone(), to, false);
            (reader.by(u64::from(per_page) + 2), id)
        }
        Cursor::EndingBefore(id) => {
            let from = event_of(id).max(scope.from.as_str()).to_string();
            (
                Reader::new(scope, from, top, true).by(u64::from(per_page) + 2),
                id,
            )
        }
    };
    let beyond = |log: &WebhookLog| match cursor {
        Cursor::StartingAfter(_) => *log.id < **cursor_id,
        Cursor::EndingBefore(_) => *log.id > **cursor_id,
    };
    let wanted = per_page as usize;
    let mut logs: Vec<WebhookLog> = Vec::with_capacity(wanted);
    // Where reading stopped, when there may be more beyond.
    let onward = loop {
        let Some((event, found)) = reader.next_event().await? else {
            break None;
        };
        let mut found = found.into_iter().filter(|log| beyond(log)).peekable();
        while logs.len() < wanted
            && let Some(log) = found.next()
        {
            logs.push(log);
        }
        if logs.len() == wanted {
            let more = found.peek().is_some() || reader.has_more().await?;
            break more.then(|| logs[wanted - 1].id.to_string());
        }
        if reader.evaluated >= MAX_EVALUATED {
            // A sparse filter: go on after this event next time.
            let more = reader.has_more().await?;
            break more.then(|| match cursor {
                Cursor::StartingAfter(_) => event.clone(),
                Cursor::EndingBefore(_) => last_of_event(&event),
            });
        }
    };
    let links = match cursor {
        Cursor::StartingAfter(_) => CursorLinks {
            older: onward,
            newer: logs.first().map(|log| log.id.to_string()),
        },
        Cursor::EndingBefore(_) => {
            logs.reverse();
            CursorLinks {
                older: logs.last().map(|log| log.id.to_string()),
                newer: onward,
            }
        }
    };
    Ok((logs, links))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_logs_and_groups_share_its_prefix_and_no_other_events_do() {
        let log = "log_01ARZ3NDEKTSV4RRFFQ69G5FAV_0123456789ab";
        let group = "log_01ARZ3NDEKTSV4RRFFQ69G5FAV_~";
        let ping = "log_01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let next = "log_01ARZ3NDEKTSV4RRFFQ69G5FAW_0123456789ab";
        assert_eq!(event_of(log), ping);
        assert_eq!(event_of(group), ping);
        assert_eq!(event_of(ping), ping);
        assert_ne!(event_of(next), ping);
        let (top, last) = (above_event(ping), last_of_event(ping));
        for key in [log, group, ping] {
            assert!(key <= top.as_str(), "{key} under {top}");
        }
        assert!(next > top.as_str(), "the next event starts above");
        assert!(log <= last.as_str() && LogId::parse(&last).is_ok());
        assert!(
            LogId::parse(ping).is_ok(),
            "a sparse page's cursor is an id"
        );
    }
}
