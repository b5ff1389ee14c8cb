//! Blacklist rules: expressions in the rule language that block, allow or flag a
//! payment, evaluated by priority (1 first), then by creation.
//!
//! `GET/POST /blacklist-rules`, `GET/PUT/DELETE /blacklist-rules/{id}`.

use axum::{
    Router,
    extract::{OriginalUri, Query, State},
    response::Response,
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiResult, AppState, Timestamp,
    auth::{Read, Scoped, groups},
    commerce::{BlacklistRule, RuleAction, blacklist::rule_order},
    crud::{self, Form, merge, text},
    error::{Checked, Violations},
    ids::BlacklistRuleId,
    pagination::{Page, PageParams},
    routes::Routes,
    rules::Rule,
    store::resources,
};

/// Rules one tenant may have: every payment evaluates all of them, in order.
pub const MAX_RULES: u64 = 100;
const MAX_NAME: usize = 255;

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    const ONE: &str = "/api/v2/blacklist-rules/{id}";
    Routes::new("blacklist rules")
        .get("/api/v2/blacklist-rules", list, |op| {
            op.summary("List rules in evaluation order")
                .returns_list::<BlacklistRule>("Rules by priority, then creation (pages only)")
        })
        .post("/api/v2/blacklist-rules", crud::create::<RuleInput>, |op| {
            op.summary("Create a rule")
                .body_example::<RuleInput>(serde_json::json!({
                    "name": "No orders from ZW", "rule": "country == \"ZW\"", "action_type": "block"
                }))
                .requiring(&["name", "rule", "action_type"])
                .creates("/id")
                .returns::<BlacklistRule>(201, "The rule")
        })
        .get(ONE, crud::retrieve::<BlacklistRule>, |op| {
            op.summary("Retrieve a rule")
                .returns::<BlacklistRule>(200, "The rule")
        })
        .put(ONE, crud::update::<RuleInput>, |op| {
            op.summary("Update a rule")
                .body::<RuleInput>()
                .returns::<BlacklistRule>(200, "The rule")
        })
        .delete(ONE, crud::destroy::<BlacklistRule>, |op| {
            op.summary("Delete a rule")
        })
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    #[serde(flatten)]
    page: PageParams,
}

/// Sorted by priority, then creation: the order they are evaluated in. The quota keeps
/// the set small, so it is read whole and sorted here.
async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::BlacklistRules>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let request = params.page.validate_pages()?;
    let mut rules = resources::all::<BlacklistRule>(&state.db, &tenant).await?;
    rules.sort_by(rule_order);
    let total = rules.len() as u64;
    let items = rules
        .into_iter()
        .skip(request.offset() as usize)
        .take(request.per_page as usize)
        .collect();
    let page = Page {
        items,
        total,
        exact: true,
        request,
        cursors: None,
    };
    Ok(page.respond(&uri, |rule| rule))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleInput {
    name: Option<String>,
    rule: Option<String>,
    action_type: Option<String>,
    priority: Option<u32>,
    enabled: Option<bool>,
}

impl Form for RuleInput {
    type Resource = BlacklistRule;
    const MAX: Option<u64> = Some(MAX_RULES);

    fn apply(self, current: Option<&BlacklistRule>, now: Timestamp) -> ApiResult<BlacklistRule> {
        let mut errors = Violations::new();
        let name = errors.text(
            "Name",
            merge(text(self.name), current.map(|c| &c.name)),
            1,
            MAX_NAME,
        );
        let rule = match self.rule {
            Some(source) if source.trim().is_empty() => errors.require("Rule", None),
            Some(source) => errors.check(match Rule::parse(&source) {
                Ok(_) => Ok(source),
                Err(e) => Err(t!("Rule is invalid: {e}", e)),
            }),
            None => errors.require("Rule", current.map(|c| c.rule.clone())),
        };
        let action_type = match self.action_type {
            Some(text) => errors.check(text.parse::<RuleAction>()),
            None => match current {
                Some(c) => Checked::valid(c.action_type),
                None => errors.check(Err(t!("Action type can't be blank (block, allow or flag)"))),
            },
        };
        let priority = merge(self.priority, current.map(|c| &c.priority)).unwrap_or(1);
        if priority == 0 {
            errors.add(t!("Priority must be 1 or more (1 is evaluated first)"));
        }
        let (name, rule, action_type) = errors.finish_with((name, rule, action_type))?;
        Ok(BlacklistRule {
            id: current
                .map(|c| c.id.clone())
                .unwrap_or_else(BlacklistRuleId::new),
            name,
            rule,
            action_type,
            priority,
            enabled: self.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(input: RuleInput) -> Vec<String> {
        match input.apply(None, Timestamp::now()) {
            Err(shared::ApiError::Validation(errors)) => errors,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_rule_that_does_not_parse_reports_its_position() {
        let errors = errors(RuleInput {
            name: Some("gmail".into()),
            rule: Some(r#"customer.email_domain == "#.into()),
            action_type: Some("block".into()),
            ..Default::default()
        });
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("Rule is invalid:") && errors[0].ends_with("at position 26"),
            "{errors:?}"
        );
    }

    #[test]
    fn every_missing_field_and_a_bad_action_are_listed() {
        assert_eq!(
            errors(RuleInput::default()),
            [
                "Name can't be blank",
                "Rule can't be blank",
                "Action type can't be blank (block, allow or flag)"
            ]
        );
        let bad = errors(RuleInput {
            name: Some("x".into()),
            rule: Some("true".into()),
            action_type: Some("deny".into()),
            priority: Some(0),
            ..Default::default()
        });
        assert_eq!(bad.len(), 2, "{bad:?}");
    }
}
