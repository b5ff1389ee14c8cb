//! Lists: a bare JSON array, newest first, in one of two ways.
//!
//! - By page (the seed's way): `page` (1-based) and `per_page` (default 20, max 100) in,
//!   `X-Total-Count`, `X-Total-Pages` and `Link` headers out. Pages stop at
//!   [`MAX_OFFSET`] items in, and a filtered count stops at [`MAX_EVALUATED`] items
//!   (then `X-Total-Count` is a lower bound and `X-Total-Count-Exact: false` says so).
//! - By cursor (Stripe's way, for large lists): `starting_after` (older than that id) or
//!   `ending_before` (newer than it) with `per_page`; `Link` carries the cursors of the
//!   neighbouring pages, and no total is counted.
//!
//! Either way one request evaluates at most [`MAX_EVALUATED`] stored items.

use crate::t;
use crate::{ApiError, ApiResult};
use axum::{
    Json,
    http::{HeaderValue, Uri},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
/// The deepest a page may start; beyond it, cursors.
pub const MAX_OFFSET: u64 = 10_000;
/// Stored items one list request may evaluate (skip, count, filter).
pub const MAX_EVALUATED: u64 = 10_000;
const MAX_CURSOR_LENGTH: usize = 255;

/// Where a cursor page starts: just older than an id, or just newer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    StartingAfter(String),
    EndingBefore(String),
}

/// Which page a client asked for, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
    pub cursor: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            cursor: None,
        }
    }
}

impl PageRequest {
    /// Validates raw query values; 400 with every problem when they are not usable.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> ApiResult<Self> {
        let mut errors = Vec::new();
        let page = match page.map(str::parse::<u32>) {
            None => 1,
            Some(Ok(n)) if n >= 1 => n,
            Some(_) => {
                errors.push(t!("Page must be an integer greater than or equal to 1"));
                1
            }
        };
        let per_page = match per_page.map(str::parse::<u32>) {
            None => DEFAULT_PER_PAGE,
            Some(Ok(n)) if (1..=MAX_PER_PAGE).contains(&n) => n,
            Some(_) => {
                errors.push(t!(
                    "Per page must be an integer between 1 and {max}",
                    max = MAX_PER_PAGE
                ));
                DEFAULT_PER_PAGE
            }
        };
        if errors.is_empty() {
            Ok(PageRequest {
                page,
                per_page,
                cursor: None,
            })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// The first `per_page` items (no cursor, no count).
    pub fn first(per_page: u32) -> Self {
        PageRequest {
            page: 1,
            per_page,
            cursor: None,
        }
    }

    /// How many matching items come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// `page`, `per_page` and the cursors as they arrive in a query string; flatten into
/// list queries.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

impl PageParams {
    pub fn validate(&self) -> ApiResult<PageRequest> {
        let mut errors = Vec::new();
        let mut request = PageRequest::parse(self.page.as_deref(), self.per_page.as_deref())
            .unwrap_or_else(|e| {
                if let ApiError::Validation(messages) = e {
                    errors.extend(messages);
                }
                PageRequest::default()
            });
        let cursor = |name: &str, value: &str| {
            let valid = !value.is_empty()
                && value.len() <= MAX_CURSOR_LENGTH
                && value.bytes().all(|b| b.is_ascii_graphic());
            (!valid).then(|| {
                t!(
                    "{field} must be an id: 1 to {max} printable characters",
                    field = name,
                    max = MAX_CURSOR_LENGTH
                )
            })
        };
        match (&self.starting_after, &self.ending_before) {
            (Some(_), Some(_)) => errors.push(t!("Use starting_after or ending_before, not both")),
            (Some(id), None) => match cursor("Starting after", id) {
                Some(message) => errors.push(message),
                None => request.cursor = Some(Cursor::StartingAfter(id.clone())),
            },
            (None, Some(id)) => match cursor("Ending before", id) {
                Some(message) => errors.push(message),
                None => request.cursor = Some(Cursor::EndingBefore(id.clone())),
            },
            (None, None) => {}
        }
        if request.cursor.is_some() && self.page.is_some() {
            errors.push(t!(
                "Page cannot be combined with starting_after or ending_before"
            ));
        }
        if request.cursor.is_none() && request.offset() >= MAX_OFFSET {
            errors.push(t!(
                "Page is too deep: pages reach {max} items; list further with starting_after",
                max = MAX_OFFSET
            ));
        }
        if errors.is_empty() {
            Ok(request)
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// For lists kept whole in memory (bounded by a quota): pages only.
    pub fn validate_pages(&self) -> ApiResult<PageRequest> {
        if self.starting_after.is_some() || self.ending_before.is_some() {
            return Err(ApiError::invalid(t!(
                "This list is short and is listed by page: use page and per_page"
            )));
        }
        self.validate()
    }
}

/// What a cursor page knows of its neighbours: the cursors of the pages either side,
/// when there may be one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CursorLinks {
    /// `starting_after` of the next (older) page.
    pub older: Option<String>,
    /// `ending_before` of the previous (newer) page.
    pub newer: Option<String>,
}

/// One page of a list and the number of items in the whole list (page mode), or the
/// cursors of its neighbours (cursor mode).
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    /// Whether `total` is exact; a filtered count stops at [`MAX_EVALUATED`].
    pub exact: bool,
    pub request: PageRequest,
    pub cursors: Option<CursorLinks>,
}

impl<T> Page<T> {
    /// Pages in the whole list; an empty list still has one (empty) page.
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.request.per_page)).max(1)
    }

    /// The response: each item's `view` in a JSON array, with the pagination headers;
    /// links keep the request's other query parameters.
    pub fn respond<'a, V: Serialize>(
        &'a self,
        uri: &Uri,
        view: impl FnMut(&'a T) -> V,
    ) -> Response {
        let views: Vec<V> = self.items.iter().map(view).collect();
        let mut response = Json(views).into_response();
        let headers = response.headers_mut();
        let link = match &self.cursors {
            Some(cursors) => cursor_link_header(uri, self.request.per_page, cursors),
            None => {
                let total_pages = self.total_pages();
                headers.insert("x-total-count", HeaderValue::from(self.total));
                headers.insert("x-total-pages", HeaderValue::from(total_pages));
                if !self.exact {
                    headers.insert("x-total-count-exact", HeaderValue::from_static("false"));
                }
                link_header(uri, &self.request, total_pages)
            }
        };
        if let Ok(value) = HeaderValue::from_str(&link)
            && !link.is_empty()
        {
            headers.insert("link", value);
        }
        response
    }
}

/// The request's query parameters other than pagination's.
fn other_parameters(uri: &Uri) -> Vec<(String, String)> {
    const PAGING: [&str; 4] = ["page", "per_page", "starting_after", "ending_before"];
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| !PAGING.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn cursor_link_header(uri: &Uri, per_page: u32, cursors: &CursorLinks) -> String {
    let others = other_parameters(uri);
    let href = |name: &str, id: &str| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(others.iter());
        query.append_pair(name, id);
        query.append_pair("per_page", &per_page.to_string());
        format!("<{}?{}>", uri.path(), query.finish())
    };
    let mut links = Vec::with_capacity(2);
    if let Some(id) = &cursors.older {
        links.push(format!("{}; rel=\"next\"", href("starting_after", id)));
    }
    if let Some(id) = &cursors.newer {
        links.push(format!("{}; rel=\"prev\"", href("ending_before", id)));
    }
    links.join(", ")
}

fn link_header(uri: &Uri, request: &PageRequest, total_pages: u64) -> String {
    let others = other_parameters(uri);
    let href = |page: u64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(others.iter());
        query.append_pair("page", &page.to_string());
        query.append_pair("per_page", &request.per_page.to_string());
        format!("<{}?{}>", uri.path(), query.finish())
    };
    let page = u64::from(request.page);
    let mut links = Vec::with_capacity(4);
    if page < total_pages {
        links.push(format!("{}; rel=\"next\"", href(page + 1)));
    }
    if page > 1 {
        links.push(format!(
            "{}; rel=\"prev\"",
            href((page - 1).min(total_pages))
        ));
    }
    links.push(format!("{}; rel=\"first\"", href(1)));
    links.push(format!("{}; rel=\"last\"", href(total_pages)));
    links.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            PageRequest::parse(None, None).unwrap(),
            PageRequest::default()
        );
        assert_eq!(
            PageRequest::parse(Some("3"), Some("100")).unwrap(),
            PageRequest {
                page: 3,
                per_page: 100,
                cursor: None,
            }
        );
        for (page, per_page) in [
            (Some("0"), None),
            (Some("-1"), None),
            (Some("x"), None),
            (None, Some("0")),
            (None, Some("101")),
            (None, Some("1.5")),
        ] {
            assert!(
                PageRequest::parse(page, per_page).is_err(),
                "{page:?} {per_page:?}"
            );
        }
    }

    #[test]
    fn both_bad_values_are_reported_together() {
        match PageRequest::parse(Some("0"), Some("1000")) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors.len(), 2),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn totals_round_up_and_never_reach_zero_pages() {
        let page = |total| Page::<()> {
            items: vec![],
            total,
            exact: true,
            request: PageRequest::first(20),
            cursors: None,
        };
        assert_eq!(page(0).total_pages(), 1);
        assert_eq!(page(20).total_pages(), 1);
        assert_eq!(page(21).total_pages(), 2);
    }

    #[test]
    fn links_keep_filters_and_point_to_neighbours() {
        let uri: Uri = "/api/v2/webhooks/endpoints?enabled=true&page=2&per_page=5"
            .parse()
            .unwrap();
        let link = link_header(
            &uri,
            &PageRequest {
                page: 2,
                per_page: 5,
                cursor: None,
            },
            3,
        );
        assert_eq!(
            link,
            "</api/v2/webhooks/endpoints?enabled=true&page=3&per_page=5>; rel=\"next\", \
             </api/v2/webhooks/endpoints?enabled=true&page=1&per_page=5>; rel=\"prev\", \
             </api/v2/webhooks/endpoints?enabled=true&page=1&per_page=5>; rel=\"first\", \
             </api/v2/webhooks/endpoints?enabled=true&page=3&per_page=5>; rel=\"last\""
        );
        let last = link_header(
            &uri,
            &PageRequest {
                page: 3,
                per_page: 5,
                cursor: None,
            },
            3,
        );
        assert!(!last.contains("rel=\"next\""));
    }

    fn params(pairs: &[(&str, &str)]) -> PageParams {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        PageParams {
            page: get("page"),
            per_page: get("per_page"),
            starting_after: get("starting_after"),
            ending_before: get("ending_before"),
        }
    }

    #[test]
    fn cursors_are_one_of_two_and_never_with_a_page() {
        let request = params(&[("starting_after", "ep_01"), ("per_page", "5")])
            .validate()
            .unwrap();
        assert_eq!(request.cursor, Some(Cursor::StartingAfter("ep_01".into())));
        assert_eq!(request.per_page, 5);
        let request = params(&[("ending_before", "ep_02")]).validate().unwrap();
        assert_eq!(request.cursor, Some(Cursor::EndingBefore("ep_02".into())));
        for bad in [
            params(&[("starting_after", "a"), ("ending_before", "b")]),
            params(&[("starting_after", "a"), ("page", "2")]),
            params(&[("starting_after", "")]),
            params(&[("ending_before", "has space")]),
            params(&[("page", "101"), ("per_page", "100")]),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(
            params(&[("page", "100"), ("per_page", "100")])
                .validate()
                .is_ok()
        );
        assert!(params(&[("starting_after", "a")]).validate_pages().is_err());
    }

    #[test]
    fn cursor_links_keep_filters_and_name_both_neighbours() {
        let uri: Uri = "/api/v2/events?type=order:paid&starting_after=evt_9&per_page=2"
            .parse()
            .unwrap();
        let cursors = CursorLinks {
            older: Some("evt_5".into()),
            newer: Some("evt_8".into()),
        };
        assert_eq!(
            cursor_link_header(&uri, 2, &cursors),
            "</api/v2/events?type=order%3Apaid&starting_after=evt_5&per_page=2>; rel=\"next\", \
             </api/v2/events?type=order%3Apaid&ending_before=evt_8&per_page=2>; rel=\"prev\""
        );
        assert_eq!(cursor_link_header(&uri, 2, &CursorLinks::default()), "");
    }
}
