//! The API's routes as the functions declare them (each route once, with its
//! documentation): what `pushguard serve` serves, what `pushguard openapi` prints and
//! `openapi.json` (served by the account function) holds, and what template.yaml must
//! route to each function.

use shared::routes::Routes;

/// Every HTTP function by the binary template.yaml builds it from: its API routes, and
/// its public pages (outside the API's conventions) where it has them.
pub fn http_functions() -> Vec<(&'static str, Routes, Option<Routes>)> {
    vec![
        ("account", account::routes(), None),
        ("webhook-endpoints", webhook_endpoints::routes(), None),
        ("webhook-logs", webhook_logs::routes(), None),
        ("events", events::routes(), None),
        (
            "products",
            products::routes(),
            Some(products::page_routes()),
        ),
        ("categories", categories::routes(), None),
        ("orders", orders::routes(), None),
        (
            "payments",
            payments::routes(),
            Some(payments::page_routes()),
        ),
        ("blacklists", blacklists::routes(), None),
        ("blacklist-rules", blacklist_rules::routes(), None),
        ("feedback", feedback::routes(), None),
        ("portal", portal::routes(), Some(portal::page_routes())),
    ]
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    shared::openapi::document(http_functions().into_iter().flat_map(|(_, api, pages)| {
        api.operations()
            .into_iter()
            .chain(pages.into_iter().flat_map(Routes::operations))
    }))
}

/// The document as `openapi.json` holds it: pretty JSON and a final newline.
pub fn json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the document serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{BUNDLED, Template};
    use std::collections::BTreeSet;

    /// Every link from a create names an operation of the document and fills exactly the
    /// path parameters it has.
    #[test]
    fn every_link_leads_to_an_operation_and_fills_its_path() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut operations = std::collections::BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for operation in item.as_object().unwrap().values() {
                let params: BTreeSet<String> = path
                    .split('/')
                    .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
                    .map(str::to_string)
                    .collect();
                operations.insert(
                    operation["operationId"].as_str().unwrap().to_string(),
                    params,
                );
            }
        }
        let mut links = 0;
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                for response in operation["responses"].as_object().unwrap().values() {
                    for (name, link) in response["links"].as_object().into_iter().flatten() {
                        let target = link["operationId"].as_str().unwrap();
                        let params: BTreeSet<String> = link["parameters"]
                            .as_object()
                            .unwrap()
                            .keys()
                            .cloned()
                            .collect();
                        assert_eq!(operations.get(target), Some(&params), "link {name}");
                        links += 1;
                    }
                }
            }
        }
        assert!(
            links >= 40,
            "{links} links: every create links to its object's operations"
        );
    }

    /// API Gateway routes exactly what each function declares: no route is missing from
    /// template.yaml (a 404 on AWS that passes locally) and none routes to nothing.
    #[test]
    fn template_routes_are_the_routes_each_function_declares() {
        let template = Template::parse(BUNDLED).unwrap();
        let functions = template.functions().unwrap();
        let routed = template.http_routes();
        for (binary, api, pages) in http_functions() {
            let function = functions
                .iter()
                .find(|f| f.binary == binary)
                .unwrap_or_else(|| panic!("template.yaml has no function built from {binary}"));
            let declared: BTreeSet<(String, String)> = api
                .paths()
                .into_iter()
                .chain(pages.iter().flat_map(Routes::paths))
                .map(|(method, path)| (method.to_string(), path.to_string()))
                .collect();
            let in_template: BTreeSet<(String, String)> = routed
                .iter()
                .filter(|(logical_id, _, _)| *logical_id == function.logical_id)
                .map(|(_, method, path)| (method.clone(), path.clone()))
                .collect();
            let missing: Vec<_> = declared.difference(&in_template).collect();
            let extra: Vec<_> = in_template.difference(&declared).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: declared but not in template.yaml {missing:?}; in template.yaml but not declared {extra:?}",
                function.logical_id
            );
        }
        let declared_functions: BTreeSet<&str> = http_functions()
            .iter()
            .map(|(binary, _, _)| *binary)
            .collect();
        for (logical_id, _, _) in &routed {
            let function = functions
                .iter()
                .find(|f| &f.logical_id == logical_id)
                .unwrap();
            assert!(
                declared_functions.contains(function.binary.as_str()),
                "{logical_id} has HTTP routes in template.yaml but declares none"
            );
        }
    }

    /// Each function reads top to bottom as what triggers it, then what it may do.
    #[test]
    fn every_function_lists_its_events_above_its_policies() {
        let mut function = None;
        let mut seen_events = false;
        for line in BUNDLED.lines() {
            if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
                && !name.starts_with(' ')
            {
                function = Some(name);
                seen_events = false;
            }
            match line {
                "      Events:" => seen_events = true,
                "      Policies:" => assert!(
                    seen_events,
                    "{}: Policies come before Events; put Events first",
                    function.unwrap_or("?")
                ),
                _ => {}
            }
        }
    }
}
