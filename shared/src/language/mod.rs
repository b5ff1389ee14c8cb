//! The languages PushGuard speaks: English and Spanish, chosen per request by
//! `Accept-Language` (quality values honoured), answered with `Content-Language`.
//!
//! Every message for people is written with [`t!`]: its English text is the template
//! at the place that says it, and each other language has one catalogue keyed by that
//! text (`spanish.rs`). A test reads every `t!` in the workspace and fails when a
//! message is missing from a catalogue, a catalogue holds a message nobody says, or the
//! two disagree on the placeholders. What machines read (field names, codes, `type`,
//! status codes) never changes with the language.

mod spanish;

use std::fmt;

/// A language PushGuard answers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Language {
    #[default]
    English,
    Spanish,
}

tokio::task_local! {
    /// The language of the request being answered (set by `http::conventions`).
    static CURRENT: Language;
}

impl Language {
    /// Its tag, as `Content-Language` and `<html lang>` say it.
    pub fn tag(&self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Spanish => "es",
        }
    }

    fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split('-').next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::English),
            "es" => Some(Language::Spanish),
            _ => None,
        }
    }

    /// The language `accept_language` prefers among ours (RFC 9110: the highest
    /// quality wins, the first listed among equals; `q=0` excludes; `*` is `default`),
    /// else `default`.
    pub fn negotiate(accept_language: Option<&str>, default: Language) -> Language {
        let Some(header) = accept_language else {
            return default;
        };
        let mut best: Option<(Language, u16)> = None;
        let mut excluded = Vec::new();
        for range in header.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(Some(1000), quality)
                .unwrap_or(0);
            let language = if tag == "*" {
                Some(default)
            } else {
                Language::of_tag(tag)
            };
            let Some(language) = language else { continue };
            if quality == 0 {
                excluded.push(language);
                continue;
            }
            if best.is_none_or(|(_, q)| quality > q) {
                best = Some((language, quality));
            }
        }
        match best {
            Some((language, _)) if !excluded.contains(&language) => language,
            _ if excluded.contains(&default) => [Language::English, Language::Spanish]
                .into_iter()
                .find(|l| !excluded.contains(l))
                .unwrap_or(default),
            _ => default,
        }
    }

    /// The language `headers`' `Accept-Language` prefers, else `default`.
    pub fn of_request(headers: &axum::http::HeaderMap, default: Language) -> Language {
        let asked = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Language::negotiate(asked, default)
    }

    /// The language of the request being answered (English outside one).
    pub fn current() -> Language {
        CURRENT.try_with(|language| *language).unwrap_or_default()
    }

    /// Runs `work` as the answer to a request in this language.
    pub async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }
}

/// A quality value (`0.8`) in thousandths; `None` if it is not one.
fn quality(text: &str) -> Option<u16> {
    let value: f64 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A message for people, in the language of the request being answered (or in the
/// language given before `=>`). The template is the message's English text, with named
/// `{placeholders}` filled from the arguments (`name = value`, or `name` alone for a
/// variable of that name), and its key in the other languages'
/// catalogues (`spanish.rs`); the compiler checks it as it checks `format!`'s.
///
/// ```
/// use shared::t;
/// let field = "Name";
/// assert_eq!(t!("{field} can't be blank", field), "Name can't be blank");
/// assert_eq!(t!("At most {n}", n = 2 + 1), "At most 3");
/// let es = shared::language::Language::Spanish;
/// assert_eq!(t!(es => "Route not found"), "No existe esa ruta");
/// ```
#[macro_export]
macro_rules! t {
    ($language:expr => $template:literal $(, $name:ident $(= $value:expr)?)* $(,)?) => {
        match ($(&$crate::__t_argument!($name $(, $value)?),)*) {
            ($($name,)*) => $crate::language::say(
                $language,
                $template,
                || format!($template $(, $name = $name)*),
                &[$((stringify!($name), $name as &dyn ::std::fmt::Display)),*],
            ),
        }
    };
    ($template:literal $(, $name:ident $(= $value:expr)?)* $(,)?) => {
        $crate::t!($crate::language::Language::current() => $template $(, $name $(= $value)?)*)
    };
}

/// An argument of [`t!`]: `name = value`, or `name` for a variable of that name.
#[doc(hidden)]
#[macro_export]
macro_rules! __t_argument {
    ($name:ident) => {
        $name
    };
    ($name:ident, $value:expr) => {
        $value
    };
}

/// What [`t!`] says: `english` in English, else `template`'s entry in `language`'s
/// catalogue filled with `arguments` (the English if the catalogue lacks it, which a
/// test forbids).
pub fn say(
    language: Language,
    template: &'static str,
    english: impl FnOnce() -> String,
    arguments: &[(&str, &dyn fmt::Display)],
) -> String {
    match language {
        Language::English => english(),
        Language::Spanish => match spanish::MESSAGES.get(template) {
            Some(translated) => fill(translated, arguments, spanish::argument),
            None => english(),
        },
    }
}

/// `template` with each `{name}` or `{name:spec}` replaced by its argument as `write`
/// writes it in the template's language (`{{` and `}}` are braces).
fn fill(
    template: &str,
    arguments: &[(&str, &dyn fmt::Display)],
    write: fn(&str, &str, &str) -> String,
) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        };
        let (name, spec) = tail[1..end].split_once(':').unwrap_or((&tail[1..end], ""));
        match arguments.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(&write(name, spec, &value.to_string())),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The named placeholders of a template, in order.
#[cfg(test)]
fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        if rest[at..].starts_with("{{") {
            rest = &rest[at + 2..];
            continue;
        }
        let end = rest[at..].find('}').map_or(rest.len(), |end| at + end);
        names.push(&rest[at + 1..end]);
        rest = &rest[end.min(rest.len() - 1) + 1..];
    }
    names
}

/// "{kind} not found" in `language` (`kind` as `crate::ids::kinds` names it).
pub fn not_found(kind: &str, language: Language) -> String {
    t!(language => "{kind} not found", kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_quality_wins_and_zero_excludes() {
        let es = Language::Spanish;
        let en = Language::English;
        for (header, default, expected) in [
            (None, en, en),
            (Some("es"), en, es),
            (Some("es-MX,es;q=0.9,en;q=0.8"), en, es),
            (Some("fr-FR, fr;q=0.9, es;q=0.7, en;q=0.5"), en, es),
            (Some("en;q=0.4, es;q=0.6"), en, es),
            (Some("de, fr"), en, en),
            (Some("de, fr"), es, es),
            (Some("es;q=0"), es, en),
            (Some("*"), es, es),
            (Some("en-GB;q=0.9, *;q=0.1"), es, en),
            (Some("es;q=banana, en"), en, en),
            (Some(""), es, es),
        ] {
            assert_eq!(Language::negotiate(header, default), expected, "{header:?}");
        }
    }

    #[test]
    fn every_kind_the_api_names_has_its_spanish_noun() {
        for (kind, _, _) in spanish::NOUNS {
            assert!(not_found(kind, Language::Spanish).starts_with("No se encontró "));
        }
        for kind in crate::ids::kinds::NAMES {
            assert!(
                spanish::kind(kind).is_some(),
                "{kind} has no Spanish noun: add it to spanish::NOUNS"
            );
        }
        assert_eq!(
            not_found("Product", Language::Spanish),
            "No se encontró el producto"
        );
        assert_eq!(not_found("Product", Language::English), "Product not found");
    }

    #[test]
    fn a_template_is_filled_by_name_and_the_language_writes_fields_and_kinds() {
        let arguments: [(&str, &dyn fmt::Display); 4] = [
            ("field", &"Ordering key"),
            ("max", &64),
            ("name", &"a \"b\""),
            ("kind", &"Blacklist rule"),
        ];
        let spanish = |template| fill(template, &arguments, spanish::argument);
        assert_eq!(
            spanish("{field} tiene {max} como máximo {{literal}}"),
            "ordering_key tiene 64 como máximo {literal}"
        );
        assert_eq!(
            spanish("{name:?} y {name}"),
            format!("{:?} y a \"b\"", "a \"b\"")
        );
        assert_eq!(
            spanish("{kind}, {kind:plural}"),
            "la regla de la lista negra, reglas de la lista negra"
        );
        assert_eq!(spanish("{unknown} stays"), "{unknown} stays");
        assert_eq!(placeholders("{a} and {b:?}, not {{c}}"), ["a", "b:?"]);
        let field = "Name";
        assert_eq!(t!("{field} can't be blank", field), "Name can't be blank");
        assert_eq!(
            t!(Language::Spanish => "{field} can't be blank", field),
            "El campo name no puede estar vacío"
        );
    }

    /// The Rust sources under `dirs` of the workspace, as (path from the root, text).
    fn sources(dirs: &[&str]) -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs: Vec<_> = dirs.iter().map(|dir| root.join(dir)).collect();
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a source directory") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("a source file");
                    let name = path
                        .strip_prefix(&root)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    files.push((name, text));
                }
            }
        }
        files
    }

    /// Every message said with `t!` in the workspace, as (file, template).
    fn templates() -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (name, source) in sources(&["shared/src", "functions", "cli/src"]) {
            for (at, _) in source.match_indices("t!(") {
                let line = source[..at].rsplit('\n').next().unwrap_or_default();
                if line.trim_start().starts_with("//") {
                    continue;
                }
                let before = source[..at].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() || matches!(before, '_' | '$' | '"') {
                    continue;
                }
                let mut rest = source[at + 3..].trim_start();
                if !rest.starts_with(['"', 'r']) {
                    // `t!(language => "...")`
                    let Some(arrow) = rest.find("=>") else {
                        continue;
                    };
                    rest = rest[arrow + 2..].trim_start();
                }
                if let Some(template) = literal(rest) {
                    found.push((name.clone(), template));
                }
            }
        }
        found
    }

    /// The value of the Rust string literal `source` starts with.
    fn literal(source: &str) -> Option<String> {
        let mut chars = source.strip_prefix('"')?.chars();
        let mut out = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    '\n' => chars = chars.as_str().trim_start().chars(),
                    other => out.push(other),
                },
                other => out.push(other),
            }
        }
        None
    }

    #[test]
    fn every_message_is_in_every_catalogue_and_nothing_else_is() {
        let said = templates();
        assert!(said.len() > 100, "the scan found {} messages", said.len());
        let mut missing = Vec::new();
        for (file, template) in &said {
            match spanish::MESSAGES.get(template.as_str()) {
                None => missing.push(format!("{file}: {template:?}")),
                Some(translated) => {
                    for placeholder in placeholders(template) {
                        assert!(
                            placeholder
                                .split_once(':')
                                .is_none_or(|(_, spec)| spec == "?"),
                            "{template:?}: a message's placeholders are {{name}} or {{name:?}}"
                        );
                    }
                    let names = |template| {
                        let mut names: Vec<&str> = placeholders(template)
                            .into_iter()
                            .map(|p| p.split(':').next().unwrap_or_default())
                            .collect();
                        names.sort();
                        names.dedup();
                        names
                    };
                    let (english, spanish) = (names(template), names(translated));
                    assert_eq!(
                        english, spanish,
                        "{template:?} and {translated:?} differ in placeholders"
                    );
                    let same = spanish::SAME_IN_BOTH.contains(&template.as_str());
                    assert!(
                        same || template != translated,
                        "{template:?} is not translated"
                    );
                    assert!(!translated.trim().is_empty(), "{template:?}");
                }
            }
        }
        assert!(
            missing.is_empty(),
            "said in English only; add them to spanish.rs:\n{}",
            missing.join("\n")
        );
        let unused: Vec<_> = spanish::ENTRIES
            .iter()
            .filter(|(english, _)| !said.iter().any(|(_, t)| t == english))
            .map(|(english, _)| *english)
            .collect();
        assert!(
            unused.is_empty(),
            "spanish.rs translates messages nobody says: {unused:?}"
        );
        let mut keys: Vec<_> = spanish::ENTRIES
            .iter()
            .map(|(english, _)| *english)
            .collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "spanish.rs holds a message twice");
    }

    /// What would put a sentence in English only before people: an error, a problem or
    /// a refusal built from a literal instead of `t!`. (The CLI is the operator's tool and
    /// speaks English, as do the logs; lower-case literals are internal markers no one
    /// reads.)
    #[test]
    fn no_message_for_people_skips_the_catalogue() {
        let built = regex::Regex::new(
            r#"(ApiError::(invalid|BadRequest|Conflict|Refused|ConcurrentChange|Unprocessable|Validation)|Rejection::(Conflict|Changed|Invalid)|Verdict::Block|\.add|(errors|problems)\.push|Err|ok_or_else\(\|\||map_err\(\|_\||E::custom)\(?\s*(vec!\[\s*)?(format!\(\s*)?"[A-Z{]"#,
        )
        .expect("a valid pattern");
        let mut english_only = Vec::new();
        for (file, source) in sources(&["shared/src", "functions"]) {
            // The delivery engine writes why an attempt failed into its log: data, kept
            // as written, read by anyone in any language.
            if file.starts_with("shared/src/delivery/") {
                continue;
            }
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            for found in built.find_iter(code) {
                let line = code[..found.start()].lines().count();
                english_only.push(format!("{file}:{line}: {}", found.as_str()));
            }
        }
        assert!(
            english_only.is_empty(),
            "messages written without t! (English only):\n{}",
            english_only.join("\n")
        );
    }

    #[test]
    fn the_scan_reads_literals_as_the_compiler_does() {
        assert_eq!(literal(r#""a \"b\" c" rest"#).unwrap(), r#"a "b" c"#);
        assert_eq!(literal("\"one \\\n        two\"").unwrap(), "one two");
        assert_eq!(literal("\"unterminated"), None);
    }
}
