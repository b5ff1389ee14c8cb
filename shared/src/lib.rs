//! The crate every PushGuard function shares: configuration, the one error type,
//! authentication, tenants, pagination, ids and time, HTTP conventions, and the
//! DynamoDB store (one module per table).

pub mod account;
pub mod auth;
pub mod aws;
pub mod commerce;
pub mod concurrency;
pub mod config;
pub mod crud;
pub mod delivery;
pub mod dialects;
pub mod error;
pub mod events;
pub mod html;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod keyring;
pub mod language;
pub mod limits;
pub mod manage;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod portal;
pub mod queue;
pub mod ratelimit;
pub mod routes;
pub mod rules;
pub mod schedule;
pub mod scopes;
pub mod secrets;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod time;
pub mod tls;
pub mod uploads;
pub mod validate;
pub mod webhooks;

pub use config::Config;
pub use error::{ApiError, ApiResult};
pub use state::{AppState, Services};
pub use tenant::{Mode, Tenant};
pub use time::Timestamp;

/// Every binary that links this crate (the functions, the CLI, the tests and the
/// benchmark) allocates through mimalloc: with glibc's allocator, a third of the CPU
/// of a delivery went to malloc and free (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(test)]
mod layers {
    /// The modules at the bottom of the crate, and what each may use of it.
    const BOTTOM: [(&str, &str, &[&str]); 9] = [
        ("ids", include_str!("ids.rs"), &[]),
        ("html", include_str!("html.rs"), &["html"]), // its macro names itself
        ("time", include_str!("time.rs"), &[]),
        ("limits", include_str!("limits.rs"), &[]),
        ("scopes", include_str!("scopes.rs"), &["language"]),
        ("validate", include_str!("validate.rs"), &["language"]),
        ("tenant", include_str!("tenant.rs"), &["ids", "language"]),
        ("language", include_str!("language/mod.rs"), &["ids"]),
        ("error", include_str!("error.rs"), &["language"]),
    ];

    /// The dialects (the seeds' other APIs) are adapters at the very top: they reach
    /// the endpoints through `manage`'s use cases and the engine only through
    /// its format hooks (`webhooks::dialect`), never a table, a queue, a key or the
    /// engine's internals.
    #[test]
    fn dialects_call_use_cases_only() {
        const DIALECTS: [(&str, &str); 5] = [
            ("dialects", include_str!("dialects/mod.rs")),
            ("conekta", include_str!("dialects/conekta.rs")),
            ("paybyrd", include_str!("dialects/paybyrd.rs")),
            ("pixlpay", include_str!("dialects/pixlpay.rs")),
            ("keysign", include_str!("dialects/keysign.rs")),
        ];
        for (dialect, source) in DIALECTS {
            for below in [
                "store::",
                "queue::",
                "keyring::",
                "dispatch::",
                "lanes::",
                "pacing::",
                "configs::",
                "state.db",
                "state.keyring",
                "state.queues",
            ] {
                assert!(
                    !source.contains(below),
                    "{dialect} reaches {below} directly; go through manage"
                );
            }
        }
    }

    /// The caches a function holds (the rate limiter, the delivery configurations, the
    /// endpoints' paces) take the handles they read through, never the whole state that
    /// holds them: else the state and its caches import each other.
    #[test]
    fn caches_take_the_handles_they_use_not_the_state() {
        const CACHES: [(&str, &str); 3] = [
            ("ratelimit", include_str!("ratelimit.rs")),
            ("delivery::configs", include_str!("delivery/configs.rs")),
            ("delivery::pacing", include_str!("delivery/pacing.rs")),
        ];
        for (cache, source) in CACHES {
            for state in ["Services", "AppState", "crate::state"] {
                assert!(
                    !source.contains(state),
                    "{cache} uses {state}: give it the handles it reads through (&Db, &Keyring, ...)"
                );
            }
        }
    }

    /// The layers of the crate, bottom first (docs/architecture.md, "The layer table"): a module
    /// uses its own layer and those below it, never one above. A module is placed by
    /// the longest entry its path starts with.
    const LAYERS: [(&str, &[&str]); 6] = [
        (
            "base",
            &[
                "ids",
                "html",
                "time",
                "tenant",
                "scopes",
                "limits",
                "validate",
                "error",
                "config",
                "metrics",
                "telemetry",
                "concurrency",
                "tls",
                "aws",
                "pagination",
                "secrets",
                "keyring",
                "schedule",
                "language",
            ],
        ),
        (
            "domain",
            &[
                "webhooks", "commerce", "account", "events", "queue", "rules", "portal",
            ],
        ),
        ("store", &["store"]),
        (
            "delivery, auth, rate limits",
            &["delivery", "auth", "ratelimit"],
        ),
        ("state", &["state"]),
        (
            "http, use cases, dialects",
            &[
                "http",
                "crud",
                "routes",
                "openapi",
                "idempotency",
                "manage",
                "uploads",
                "dialects",
            ],
        ),
    ];

    /// What the crate root re-exports, by the module it comes from.
    const ROOT_NAMES: [(&str, &str); 9] = [
        ("t", "language"),
        ("ApiError", "error"),
        ("ApiResult", "error"),
        ("AppState", "state"),
        ("Services", "state"),
        ("Mode", "tenant"),
        ("Tenant", "tenant"),
        ("Timestamp", "time"),
        ("Config", "config"),
    ];

    fn layer_of(module: &str) -> Option<(usize, &'static str)> {
        let mut best: Option<(usize, &'static str)> = None;
        for (layer, (_, entries)) in LAYERS.iter().enumerate() {
            for entry in entries.iter() {
                let within = module == *entry
                    || module.starts_with(entry) && module[entry.len()..].starts_with("::");
                if within && best.is_none_or(|(_, found)| entry.len() > found.len()) {
                    best = Some((layer, entry));
                }
            }
        }
        best
    }

    /// The paths a `use` tree names, brace groups spelled out: `a::{b, c::{d}}` gives
    /// `a::b` and `a::c::d`.
    fn spell_out(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        let Some(open) = tree.find('{') else {
            out.push(format!("{prefix}{tree}"));
            return;
        };
        let head = format!("{prefix}{}", &tree[..open]);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let (mut depth, mut start) = (0, 0);
        for (at, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    spell_out(&head, &inner[start..at], out);
                    start = at + 1;
                }
                _ => {}
            }
        }
        if !inner[start..].trim().is_empty() {
            spell_out(&head, &inner[start..], out);
        }
    }

    /// The crate modules `source` (of module `module`) uses outside its tests.
    fn uses(module: &str, source: &str) -> Vec<String> {
        let code: String = source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
        let mut paths = Vec::new();
        for (marker, base) in [
            ("crate::", String::new()),
            ("super::", format!("{parent}::")),
        ] {
            for (at, _) in code.match_indices(marker) {
                if marker == "crate::" && code[..at].ends_with("super::") {
                    continue;
                }
                let rest = &code[at + marker.len()..];
                let end = if rest.starts_with('{') {
                    rest.find("};").map_or(rest.len(), |end| end + 1)
                } else {
                    rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                        .unwrap_or(rest.len())
                };
                let base = base.trim_start_matches("::");
                spell_out(base, &rest[..end], &mut paths);
            }
        }
        paths
            .into_iter()
            .filter_map(|path| {
                let path = path.trim_start_matches("::").replace("::self", "");
                let first = path.split("::").next().unwrap_or_default();
                if let Some((_, from)) = ROOT_NAMES.iter().find(|(name, _)| *name == first) {
                    return Some(from.to_string());
                }
                let modules: Vec<&str> = path
                    .split("::")
                    .take_while(|segment| segment.starts_with(|c: char| c.is_ascii_lowercase()))
                    .collect();
                (!modules.is_empty()).then(|| modules.join("::"))
            })
            .collect()
    }

    fn modules() -> Vec<(String, String)> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).expect("the crate's sources") {
                let path = entry.expect("a source entry").path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let relative = path.strip_prefix(root).unwrap().with_extension("");
                    let module = relative
                        .to_string_lossy()
                        .replace(std::path::MAIN_SEPARATOR, "::")
                        .trim_end_matches("::mod")
                        .to_string();
                    if module != "lib" {
                        out.push((module, std::fs::read_to_string(&path).unwrap()));
                    }
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out
    }

    #[test]
    fn no_module_uses_a_layer_above_its_own() {
        let mut up = Vec::new();
        for (module, source) in modules() {
            let (layer, _) = layer_of(&module)
                .unwrap_or_else(|| panic!("{module} is in no layer: add it to LAYERS"));
            for used in uses(&module, &source) {
                // Not placed: an item of the crate root (the allocator, a macro).
                if let Some((above, _)) = layer_of(&used)
                    && above > layer
                {
                    let (theirs, ours) = (LAYERS[above].0, LAYERS[layer].0);
                    up.push(format!("{module} uses {used} ({theirs} above {ours})"));
                }
            }
        }
        assert!(up.is_empty(), "imports that point up:\n{}", up.join("\n"));
    }

    #[test]
    fn the_layer_check_sees_a_use_tree_and_a_re_export() {
        let source = "use crate::{\n    ApiError, Services,\n    store::{self, Db},\n};\nuse super::lanes;\n";
        let mut used = uses("delivery::dispatch", source);
        used.sort();
        assert_eq!(
            used,
            ["delivery::lanes", "error", "state", "store", "store"]
        );
        assert!(layer_of("state").unwrap().0 > layer_of("delivery::dispatch").unwrap().0);
    }

    #[test]
    fn bottom_modules_import_nothing_above_them() {
        for (module, source, allowed) in BOTTOM {
            for (at, _) in source.match_indices("crate::") {
                if source[..at].ends_with('$') {
                    continue; // a macro's own path (`$crate::`)
                }
                let used: String = source[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                // `crate::t` is the `t!` macro of `language`.
                let used = if used == "t" {
                    "language".to_string()
                } else {
                    used
                };
                assert!(
                    used.is_empty() || allowed.contains(&used.as_str()),
                    "{module} uses crate::{used}, which is above it"
                );
            }
            assert!(
                !source.contains("use crate::{"),
                "{module} imports a group from the crate; name each module it may use"
            );
        }
    }
}
