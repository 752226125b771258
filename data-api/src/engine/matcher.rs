//! Query filters: parsed once into a [`Filter`] (so an unsupported operator is
//! refused before any document is looked at), then matched against documents.
//!
//! Supported: implicit equality (whole value, or an element of an array),
//! dotted paths, `$eq $ne $gt $gte $lt $lte $in $nin $exists $not`, and
//! `$and $or $nor`. Anything else is an error naming the operator.

use bson::{Bson, Document};

use super::value::{compare_values, path_values, split_path, type_rank, values_equal};
use crate::error::ApiError;

#[derive(Debug, Clone, Default)]
pub struct Filter {
    clauses: Vec<Clause>,
}

#[derive(Debug, Clone)]
enum Clause {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Nor(Vec<Filter>),
    Field { path: Vec<String>, conds: Vec<Cond> },
}

#[derive(Debug, Clone)]
enum Cond {
    Eq(Bson),
    Ne(Bson),
    Range(RangeOp, Bson),
    In(Vec<Bson>),
    Nin(Vec<Bson>),
    Exists(bool),
    Not(Vec<Cond>),
}

#[derive(Debug, Clone, Copy)]
enum RangeOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Filter {
    pub fn parse(spec: &Document) -> Result<Filter, ApiError> {
        let mut clauses = Vec::with_capacity(spec.len());
        for (key, value) in spec {
            let clause = match key.as_str() {
                "$and" => Clause::And(parse_filter_list(key, value)?),
                "$or" => Clause::Or(parse_filter_list(key, value)?),
                "$nor" => Clause::Nor(parse_filter_list(key, value)?),
                op if op.starts_with('$') => {
                    return Err(ApiError::unsupported("query operator", op))
                }
                field => {
                    let path = split_path(field).ok_or_else(|| {
                        ApiError::invalid(format!("invalid field path '{field}' in filter"))
                    })?;
                    Clause::Field {
                        path: path.into_iter().map(str::to_owned).collect(),
                        conds: parse_field_condition(field, value)?,
                    }
                }
            };
            clauses.push(clause);
        }
        Ok(Filter { clauses })
    }

    pub fn matches(&self, doc: &Document) -> bool {
        self.clauses.iter().all(|clause| clause.matches(doc))
    }

    /// The `_id` value when the filter pins one (`{_id: v}` or `{_id: {$eq: v}}`
    /// at top level), so the store can look it up instead of scanning. The
    /// whole filter must still be checked against the document found.
    pub fn pinned_id(&self) -> Option<&Bson> {
        self.clauses.iter().find_map(|clause| match clause {
            Clause::Field { path, conds } if path.len() == 1 && path[0] == "_id" => {
                conds.iter().find_map(|cond| match cond {
                    Cond::Eq(value) => Some(value),
                    _ => None,
                })
            }
            _ => None,
        })
    }

    /// Equality fields that an upsert copies into the new document:
    /// `{a: 1}`, `{a: {$eq: 1}}`, also inside `$and`.
    pub fn equality_fields(&self) -> Vec<(&[String], &Bson)> {
        let mut out = Vec::new();
        for clause in &self.clauses {
            match clause {
                Clause::Field { path, conds } => {
                    for cond in conds {
                        if let Cond::Eq(value) = cond {
                            out.push((path.as_slice(), value));
                        }
                    }
                }
                Clause::And(filters) => {
                    for filter in filters {
                        out.extend(filter.equality_fields());
                    }
                }
                Clause::Or(_) | Clause::Nor(_) => {}
            }
        }
        out
    }
}

fn parse_filter_list(op: &str, value: &Bson) -> Result<Vec<Filter>, ApiError> {
    let Bson::Array(items) = value else {
        return Err(ApiError::invalid(format!(
            "{op} needs an array of filter documents"
        )));
    };
    if items.is_empty() {
        return Err(ApiError::invalid(format!("{op} needs a non-empty array")));
    }
    items
        .iter()
        .map(|item| match item {
            Bson::Document(doc) => Filter::parse(doc),
            _ => Err(ApiError::invalid(format!(
                "{op} entries must be filter documents"
            ))),
        })
        .collect()
}

/// `{field: value}` is equality unless `value` is a document of `$` operators.
fn parse_field_condition(field: &str, value: &Bson) -> Result<Vec<Cond>, ApiError> {
    match value {
        Bson::Document(ops) if is_operator_document(ops) => parse_operators(field, ops),
        other => Ok(vec![Cond::Eq(comparable(other)?)]),
    }
}

fn is_operator_document(doc: &Document) -> bool {
    doc.keys().next().is_some_and(|key| key.starts_with('$'))
}

fn parse_operators(field: &str, ops: &Document) -> Result<Vec<Cond>, ApiError> {
    let mut conds = Vec::with_capacity(ops.len());
    for (op, operand) in ops {
        let cond = match op.as_str() {
            "$eq" => Cond::Eq(comparable(operand)?),
            "$ne" => Cond::Ne(comparable(operand)?),
            "$gt" => Cond::Range(RangeOp::Gt, comparable(operand)?),
            "$gte" => Cond::Range(RangeOp::Gte, comparable(operand)?),
            "$lt" => Cond::Range(RangeOp::Lt, comparable(operand)?),
            "$lte" => Cond::Range(RangeOp::Lte, comparable(operand)?),
            "$in" => Cond::In(operand_list(op, operand)?),
            "$nin" => Cond::Nin(operand_list(op, operand)?),
            "$exists" => Cond::Exists(truthy(operand).ok_or_else(|| {
                ApiError::invalid(format!("$exists on '{field}' needs true or false"))
            })?),
            "$not" => match operand {
                Bson::Document(inner) if is_operator_document(inner) => {
                    Cond::Not(parse_operators(field, inner)?)
                }
                Bson::RegularExpression(_) => {
                    return Err(ApiError::unsupported("query operator", "$regex"))
                }
                _ => {
                    return Err(ApiError::invalid(format!(
                        "$not on '{field}' needs a document of operators"
                    )))
                }
            },
            other if other.starts_with('$') => {
                return Err(ApiError::unsupported("query operator", other))
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "filter on '{field}' mixes operators with the plain field '{other}'"
                )))
            }
        };
        conds.push(cond);
    }
    Ok(conds)
}

/// Regular expressions in a filter mean a pattern match in MongoDB; the
/// engine has no regex support, so it refuses rather than compare literally.
fn comparable(value: &Bson) -> Result<Bson, ApiError> {
    if let Bson::RegularExpression(_) = value {
        return Err(ApiError::unsupported("query operator", "$regex"));
    }
    Ok(value.clone())
}

fn operand_list(op: &str, operand: &Bson) -> Result<Vec<Bson>, ApiError> {
    match operand {
        Bson::Array(items) => items.iter().map(comparable).collect(),
        _ => Err(ApiError::invalid(format!("{op} needs an array"))),
    }
}

pub(crate) fn truthy(value: &Bson) -> Option<bool> {
    match value {
        Bson::Boolean(b) => Some(*b),
        Bson::Int32(i) => Some(*i != 0),
        Bson::Int64(i) => Some(*i != 0),
        Bson::Double(f) => Some(*f != 0.0),
        _ => None,
    }
}

impl Clause {
    fn matches(&self, doc: &Document) -> bool {
        match self {
            Clause::And(filters) => filters.iter().all(|f| f.matches(doc)),
            Clause::Or(filters) => filters.iter().any(|f| f.matches(doc)),
            Clause::Nor(filters) => !filters.iter().any(|f| f.matches(doc)),
            Clause::Field { path, conds } => {
                let parts: Vec<&str> = path.iter().map(String::as_str).collect();
                let found = path_values(doc, &parts);
                conds.iter().all(|cond| cond.matches(&found))
            }
        }
    }
}

impl Cond {
    /// `found` holds every value the path reached (empty when missing).
    fn matches(&self, found: &[&Bson]) -> bool {
        match self {
            Cond::Eq(value) => equality_matches(found, value),
            Cond::Ne(value) => !equality_matches(found, value),
            Cond::Range(op, bound) => range_matches(found, *op, bound),
            Cond::In(values) => values.iter().any(|v| equality_matches(found, v)),
            Cond::Nin(values) => !values.iter().any(|v| equality_matches(found, v)),
            Cond::Exists(wanted) => found.is_empty() != *wanted,
            Cond::Not(conds) => !conds.iter().all(|cond| cond.matches(found)),
        }
    }
}

/// A value, or any element of an array value, equals the operand; `null`
/// also matches a missing field.
fn equality_matches(found: &[&Bson], wanted: &Bson) -> bool {
    if matches!(wanted, Bson::Null) && found.is_empty() {
        return true;
    }
    found.iter().any(|value| {
        values_equal(value, wanted)
            || matches!(value, Bson::Array(items) if items.iter().any(|item| values_equal(item, wanted)))
    })
}

/// Range operators only compare values of the same type class (numbers with
/// numbers, strings with strings, dates with dates...), as MongoDB does.
fn range_matches(found: &[&Bson], op: RangeOp, bound: &Bson) -> bool {
    if matches!(bound, Bson::Null) {
        // $gte/$lte null behave like equality with null; $gt/$lt null match nothing.
        return matches!(op, RangeOp::Gte | RangeOp::Lte) && equality_matches(found, bound);
    }
    let satisfies = |value: &Bson| {
        type_rank(value) == type_rank(bound) && {
            let ord = compare_values(value, bound);
            match op {
                RangeOp::Gt => ord.is_gt(),
                RangeOp::Gte => ord.is_ge(),
                RangeOp::Lt => ord.is_lt(),
                RangeOp::Lte => ord.is_le(),
            }
        }
    };
    found.iter().any(|value| {
        satisfies(value) || matches!(value, Bson::Array(items) if items.iter().any(satisfies))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, DateTime};

    fn matches(filter: Document, doc: Document) -> bool {
        Filter::parse(&filter).expect("valid filter").matches(&doc)
    }

    #[test]
    fn implicit_equality_on_scalars_arrays_and_dotted_paths() {
        let d = doc! { "name": "Ana", "tags": ["x", "y"], "address": { "city": "Lima" } };
        assert!(matches(doc! { "name": "Ana" }, d.clone()));
        assert!(!matches(doc! { "name": "ana" }, d.clone()));
        assert!(matches(doc! { "tags": "y" }, d.clone()));
        assert!(matches(doc! { "tags": ["x", "y"] }, d.clone()));
        assert!(!matches(doc! { "tags": ["y", "x"] }, d.clone()));
        assert!(matches(doc! { "address.city": "Lima" }, d.clone()));
        assert!(matches(doc! { "address": { "city": "Lima" } }, d.clone()));
        assert!(matches(doc! { "missing": null }, d.clone()));
        assert!(!matches(doc! { "name": null }, d));
    }

    #[test]
    fn numbers_match_across_types() {
        let d = doc! { "n": 5_i64, "f": 2.5 };
        assert!(matches(doc! { "n": 5_i32 }, d.clone()));
        assert!(matches(doc! { "n": 5.0 }, d.clone()));
        assert!(matches(
            doc! { "n": { "$gt": 4.5, "$lte": 5_i32 } },
            d.clone()
        ));
        assert!(matches(doc! { "f": { "$lt": 3_i64 } }, d.clone()));
        assert!(matches(doc! { "n": { "$in": [1, 5] } }, d.clone()));
        assert!(!matches(doc! { "n": { "$nin": [5.0] } }, d));
    }

    #[test]
    fn comparisons_stay_within_type() {
        let d = doc! { "s": "10", "when": DateTime::from_millis(1_000) };
        assert!(!matches(doc! { "s": { "$gt": 5 } }, d.clone()));
        assert!(matches(doc! { "s": { "$gt": "1" } }, d.clone()));
        assert!(matches(
            doc! { "when": { "$gte": DateTime::from_millis(1_000) } },
            d.clone()
        ));
        assert!(!matches(doc! { "when": { "$gt": 0 } }, d));
    }

    #[test]
    fn logical_operators_and_exists() {
        let d = doc! { "a": 1, "b": 2 };
        assert!(matches(
            doc! { "$or": [ { "a": 2 }, { "b": 2 } ] },
            d.clone()
        ));
        assert!(!matches(
            doc! { "$and": [ { "a": 1 }, { "b": 3 } ] },
            d.clone()
        ));
        assert!(matches(doc! { "$nor": [ { "a": 2 } ] }, d.clone()));
        assert!(matches(
            doc! { "a": { "$exists": true }, "c": { "$exists": false } },
            d.clone()
        ));
        assert!(matches(doc! { "a": { "$not": { "$gt": 1 } } }, d.clone()));
        assert!(matches(doc! { "a": { "$ne": 2 } }, d.clone()));
        assert!(matches(doc! { "c": { "$ne": 2 } }, d));
    }

    #[test]
    fn unsupported_operators_are_named() {
        for (filter, name) in [
            (doc! { "a": { "$regex": "x" } }, "$regex"),
            (doc! { "$where": "true" }, "$where"),
            (doc! { "a": { "$elemMatch": { "b": 1 } } }, "$elemMatch"),
            (doc! { "a": { "$not": { "$size": 1 } } }, "$size"),
        ] {
            let err = Filter::parse(&filter).expect_err("must be refused");
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn paths_deeper_than_mongodb_allows_are_refused() {
        let deep = vec!["a"; 101].join(".");
        assert!(Filter::parse(&doc! { deep: 1 }).is_err());
        let ok = vec!["a"; 100].join(".");
        assert!(Filter::parse(&doc! { ok: 1 }).is_ok());
    }

    #[test]
    fn pinned_id_is_found() {
        let f = Filter::parse(&doc! { "_id": 7, "x": 1 }).expect("valid");
        assert_eq!(f.pinned_id(), Some(&Bson::Int32(7)));
        let f = Filter::parse(&doc! { "_id": { "$gt": 7 } }).expect("valid");
        assert_eq!(f.pinned_id(), None);
    }
}
