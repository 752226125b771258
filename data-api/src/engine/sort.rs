//! Sort specifications (`{field: 1 | -1, ...}`) for `find` and `$sort`.

use std::borrow::Borrow;
use std::cmp::Ordering;

use bson::{Bson, Document};

use super::value::{compare_values, path_values, split_path};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Sort {
    keys: Vec<(Vec<String>, bool /* descending */)>,
}

impl Sort {
    pub fn parse(spec: &Document) -> Result<Sort, ApiError> {
        if spec.is_empty() {
            return Err(ApiError::invalid("sort must name at least one field"));
        }
        let mut keys = Vec::with_capacity(spec.len());
        for (field, direction) in spec {
            let descending = match direction {
                Bson::Int32(1) | Bson::Int64(1) => false,
                Bson::Int32(-1) | Bson::Int64(-1) => true,
                Bson::Double(d) if *d == 1.0 => false,
                Bson::Double(d) if *d == -1.0 => true,
                Bson::Document(meta) if meta.keys().next().is_some_and(|k| k.starts_with('$')) => {
                    let op = meta.keys().next().map(String::as_str).unwrap_or_default();
                    return Err(ApiError::unsupported("sort operator", op));
                }
                _ => {
                    return Err(ApiError::invalid(format!(
                        "sort direction for '{field}' must be 1 or -1"
                    )))
                }
            };
            let path = split_path(field).ok_or_else(|| {
                ApiError::invalid(format!("invalid field path '{field}' in sort"))
            })?;
            keys.push((path.into_iter().map(str::to_owned).collect(), descending));
        }
        Ok(Sort { keys })
    }

    /// Stable sort, so documents with equal keys keep their natural order.
    pub fn sort<T: Borrow<Document>>(&self, docs: &mut Vec<T>) {
        let mut keyed: Vec<(Vec<Bson>, T)> = docs
            .drain(..)
            .map(|doc| (self.keys_of(doc.borrow()), doc))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| self.compare_keys(a, b));
        docs.extend(keyed.into_iter().map(|(_, doc)| doc));
    }

    fn keys_of(&self, doc: &Document) -> Vec<Bson> {
        self.keys
            .iter()
            .map(|(path, descending)| sort_key(doc, path, *descending))
            .collect()
    }

    fn compare_keys(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        for ((x, y), (_, descending)) in a.iter().zip(b).zip(&self.keys) {
            let ord = compare_values(x, y);
            let ord = if *descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

/// As in MongoDB: a missing field sorts as null, and an array field sorts by
/// its smallest element ascending or its largest descending.
fn sort_key(doc: &Document, path: &[String], descending: bool) -> Bson {
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let mut candidates: Vec<&Bson> = Vec::new();
    for value in path_values(doc, &parts) {
        match value {
            Bson::Array(items) => candidates.extend(items.iter()),
            other => candidates.push(other),
        }
    }
    let pick = candidates.into_iter().reduce(|best, next| {
        let ord = compare_values(next, best);
        let better = if descending { ord.is_gt() } else { ord.is_lt() };
        if better {
            next
        } else {
            best
        }
    });
    pick.cloned().unwrap_or(Bson::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn multi_key_sort_with_mixed_numbers_and_missing_fields() {
        let sort = Sort::parse(&doc! { "a": 1, "b": -1 }).expect("valid");
        let mut docs = vec![
            doc! { "id": 1, "a": 2_i64, "b": 1 },
            doc! { "id": 2, "a": 1.5, "b": 1 },
            doc! { "id": 3, "a": 2, "b": 5 },
            doc! { "id": 4 },
        ];
        sort.sort(&mut docs);
        let ids: Vec<i32> = docs
            .iter()
            .map(|d| d.get_i32("id").unwrap_or_default())
            .collect();
        assert_eq!(ids, vec![4, 2, 3, 1]);
    }

    #[test]
    fn bad_directions_are_refused() {
        assert!(Sort::parse(&doc! { "a": 2 }).is_err());
        let err = Sort::parse(&doc! { "a": { "$meta": "textScore" } }).expect_err("meta");
        assert!(err.to_string().contains("$meta"));
    }
}
