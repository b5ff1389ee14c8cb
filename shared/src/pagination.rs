//! Page-numbered lists: `page` (1-based) and `per_page` (default 20, max 100) in,
//! a bare JSON array out with `X-Total-Count`, `X-Total-Pages` and `Link` headers.

use crate::{ApiError, ApiResult};
use axum::{
    Json,
    http::{HeaderValue, Uri},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

/// Which page a client asked for, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
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
                errors.push("Page must be an integer greater than or equal to 1".to_string());
                1
            }
        };
        let per_page = match per_page.map(str::parse::<u32>) {
            None => DEFAULT_PER_PAGE,
            Some(Ok(n)) if (1..=MAX_PER_PAGE).contains(&n) => n,
            Some(_) => {
                errors.push(format!(
                    "Per page must be an integer between 1 and {MAX_PER_PAGE}"
                ));
                DEFAULT_PER_PAGE
            }
        };
        if errors.is_empty() {
            Ok(PageRequest { page, per_page })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// How many matching items come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// `page` and `per_page` as they arrive in a query string; flatten into list queries.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    pub page: Option<String>,
    pub per_page: Option<String>,
}

impl PageParams {
    pub fn validate(&self) -> ApiResult<PageRequest> {
        PageRequest::parse(self.page.as_deref(), self.per_page.as_deref())
    }
}

/// One page of a list and the exact number of items in the whole list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
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
        let total_pages = self.total_pages();
        let link = link_header(uri, self.request, total_pages);
        let views: Vec<V> = self.items.iter().map(view).collect();
        let mut response = Json(views).into_response();
        let headers = response.headers_mut();
        headers.insert("x-total-count", HeaderValue::from(self.total));
        headers.insert("x-total-pages", HeaderValue::from(total_pages));
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert("link", value);
        }
        response
    }
}

fn link_header(uri: &Uri, request: PageRequest, total_pages: u64) -> String {
    let others: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
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
                per_page: 100
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
            request: PageRequest {
                page: 1,
                per_page: 20,
            },
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
            PageRequest {
                page: 2,
                per_page: 5,
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
            PageRequest {
                page: 3,
                per_page: 5,
            },
            3,
        );
        assert!(!last.contains("rel=\"next\""));
    }
}
