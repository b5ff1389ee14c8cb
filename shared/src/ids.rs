//! Time-sortable, opaque ids: a short kind prefix and a ULID (`ep_01HV...`).
//! Sorting ids as strings sorts them by creation time, so "newest first" is a
//! reverse range query, not a sort.

/// A new id of the given kind, e.g. `new_id("ep")`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

/// Whether `id` could be an id of this kind. Cheap rejection of garbage before I/O.
pub fn looks_like(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| ulid::Ulid::from_string(ulid).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time() {
        let first = new_id("ep");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id("ep");
        assert!(first < second, "{first} should sort before {second}");
    }

    #[test]
    fn recognises_its_own_ids_only() {
        let id = new_id("ep");
        assert!(looks_like("ep", &id));
        assert!(!looks_like("key", &id));
        assert!(!looks_like("ep", "ep_not-a-ulid"));
        assert!(!looks_like("ep", "../../etc"));
    }
}
