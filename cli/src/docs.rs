//! The documents' links: every relative link of the README and `docs/` names a file that
//! exists and, with an anchor, a heading of that file (as GitHub makes anchors).

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The documents: the README and every page under `docs/`.
    fn documents() -> Vec<PathBuf> {
        let mut documents = vec![root().join("README.md"), root().join("BENCHMARKS.md")];
        for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                documents.push(path);
            }
        }
        documents
    }

    /// A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces
    /// as hyphens.
    fn anchor(heading: &str) -> String {
        heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    }

    /// The anchors of a document's headings (outside code blocks).
    fn anchors(text: &str) -> Vec<String> {
        let mut fenced = false;
        let mut found = Vec::new();
        for line in text.lines() {
            if line.starts_with("```") {
                fenced = !fenced;
            } else if !fenced && line.starts_with('#') {
                found.push(anchor(line.trim_start_matches('#')));
            }
        }
        found
    }

    /// The targets of a document's `](...)` links, outside code blocks.
    fn links(text: &str) -> Vec<String> {
        let mut fenced = false;
        let mut found = Vec::new();
        for line in text.lines() {
            if line.starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if fenced {
                continue;
            }
            let mut rest = line;
            while let Some(start) = rest.find("](") {
                let after = &rest[start + 2..];
                let Some(end) = after.find(')') else { break };
                found.push(after[..end].to_string());
                rest = &after[end..];
            }
        }
        found
    }

    #[test]
    fn every_relative_link_of_the_documents_resolves() {
        let mut broken = Vec::new();
        let documents = documents();
        assert!(documents.len() >= 8, "the README, BENCHMARKS and docs/");
        for document in &documents {
            let text = std::fs::read_to_string(document).unwrap();
            for link in links(&text) {
                if link.contains("://") || link.starts_with("mailto:") {
                    continue;
                }
                let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
                let target = if path.is_empty() {
                    document.clone()
                } else {
                    document.parent().unwrap().join(path)
                };
                let Ok(target_text) = std::fs::read_to_string(&target) else {
                    if !target.exists() {
                        broken.push(format!("{}: {link} (no such file)", document.display()));
                    }
                    continue;
                };
                if !fragment.is_empty() && !anchors(&target_text).contains(&fragment.to_string()) {
                    broken.push(format!("{}: {link} (no such heading)", document.display()));
                }
            }
        }
        assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    }

    #[test]
    fn anchors_are_made_as_github_makes_them() {
        assert_eq!(
            anchor(" Commerce: from a product to a signed `order:paid`"),
            "commerce-from-a-product-to-a-signed-orderpaid"
        );
        assert_eq!(
            anchor("Holding companies (child accounts)"),
            "holding-companies-child-accounts"
        );
        assert_eq!(
            links("see [a](docs/a.md#b) and [c](#d)\n```\n[x](nope)\n```"),
            ["docs/a.md#b", "#d"]
        );
    }
}
