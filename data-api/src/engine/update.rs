//! Update documents (`$set $unset $inc $push $setOnInsert`), parsed once and
//! then applied to copies of the matched documents. Also the path helpers that
//! write into nested documents, shared with projection.

use bson::{Bson, Document};

use super::value::split_path;
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Update {
    ops: Vec<Op>,
}

#[derive(Debug, Clone)]
enum Op {
    Set(Vec<String>, Bson),
    Unset(Vec<String>),
    Inc(Vec<String>, Bson),
    Push(Vec<String>, Vec<Bson>),
    SetOnInsert(Vec<String>, Bson),
}

impl Op {
    fn path(&self) -> &[String] {
        match self {
            Op::Set(p, _)
            | Op::Unset(p)
            | Op::Inc(p, _)
            | Op::Push(p, _)
            | Op::SetOnInsert(p, _) => p,
        }
    }
}

/// Arrays are padded with nulls up to an index written by path ("a.5");
/// this bounds how far, so one request cannot allocate without limit.
const MAX_ARRAY_PAD: usize = 100_000;

impl Update {
    pub fn parse(spec: &Document) -> Result<Update, ApiError> {
        if spec.is_empty() {
            return Err(ApiError::invalid("update must not be empty"));
        }
        let mut ops = Vec::new();
        for (operator, fields) in spec {
            if !operator.starts_with('$') {
                return Err(ApiError::invalid(format!(
                    "update may only contain update operators ($set, $unset, $inc, $push, $setOnInsert), found field '{operator}'; use replaceOne to replace a whole document"
                )));
            }
            let known = ["$set", "$unset", "$inc", "$push", "$setOnInsert"];
            if !known.contains(&operator.as_str()) {
                return Err(ApiError::unsupported("update operator", operator));
            }
            let Bson::Document(fields) = fields else {
                return Err(ApiError::invalid(format!(
                    "{operator} needs a document of fields"
                )));
            };
            for (field, value) in fields {
                let path = parse_update_path(field)?;
                let op = match operator.as_str() {
                    "$set" => Op::Set(path, value.clone()),
                    "$unset" => Op::Unset(path),
                    "$setOnInsert" => Op::SetOnInsert(path, value.clone()),
                    "$inc" => match value {
                        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) => {
                            Op::Inc(path, value.clone())
                        }
                        _ => {
                            return Err(ApiError::invalid(format!(
                                "$inc on '{field}' needs a number (Int32, Int64 or Double)"
                            )))
                        }
                    },
                    _ => Op::Push(path, push_values(field, value)?),
                };
                ops.push(op);
            }
        }
        check_conflicts(&ops)?;
        // MongoDB applies fields in lexicographic order, which decides where
        // new fields land in the document.
        ops.sort_by(|a, b| a.path().cmp(b.path()));
        Ok(Update { ops })
    }

    /// Applies the update to `doc`. `inserting` is true for the document an
    /// upsert creates, the only time `$setOnInsert` applies.
    pub fn apply(&self, doc: &mut Document, inserting: bool) -> Result<(), ApiError> {
        for op in &self.ops {
            match op {
                Op::Set(path, value) => set_path(doc, path, value.clone())?,
                Op::SetOnInsert(path, value) => {
                    if inserting {
                        set_path(doc, path, value.clone())?;
                    }
                }
                Op::Unset(path) => unset_path(doc, path),
                Op::Inc(path, delta) => match get_path_mut(doc, path) {
                    Some(current) => *current = add(current, delta, path)?,
                    None => set_path(doc, path, delta.clone())?,
                },
                Op::Push(path, values) => match get_path_mut(doc, path) {
                    Some(Bson::Array(items)) => items.extend(values.iter().cloned()),
                    Some(other) => {
                        return Err(ApiError::cannot_apply(format!(
                            "$push needs '{}' to be an array, but it is {}",
                            path.join("."),
                            type_name(other)
                        )))
                    }
                    None => set_path(doc, path, Bson::Array(values.clone()))?,
                },
            }
        }
        Ok(())
    }
}

fn parse_update_path(field: &str) -> Result<Vec<String>, ApiError> {
    let parts = split_path(field)
        .ok_or_else(|| ApiError::invalid(format!("invalid field path '{field}' in update")))?;
    if let Some(positional) = parts.iter().find(|p| p.starts_with('$')) {
        return Err(ApiError::unsupported(
            "positional update operator",
            *positional,
        ));
    }
    Ok(parts.into_iter().map(str::to_owned).collect())
}

/// `$push: {f: v}` appends v; `$push: {f: {$each: [..]}}` appends each.
fn push_values(field: &str, value: &Bson) -> Result<Vec<Bson>, ApiError> {
    let Bson::Document(spec) = value else {
        return Ok(vec![value.clone()]);
    };
    if !spec.keys().any(|k| k.starts_with('$')) {
        return Ok(vec![value.clone()]);
    }
    for key in spec.keys() {
        if key != "$each" {
            return Err(ApiError::unsupported("$push modifier", key));
        }
    }
    match spec.get("$each") {
        Some(Bson::Array(items)) => Ok(items.clone()),
        _ => Err(ApiError::invalid(format!(
            "$push $each on '{field}' needs an array"
        ))),
    }
}

/// Two operators touching the same path, or a path and its parent, are
/// ambiguous; MongoDB refuses them and so do we.
fn check_conflicts(ops: &[Op]) -> Result<(), ApiError> {
    for (i, a) in ops.iter().enumerate() {
        for b in &ops[i + 1..] {
            let (a, b) = (a.path(), b.path());
            let shared = a.len().min(b.len());
            if a[..shared] == b[..shared] {
                return Err(ApiError::invalid(format!(
                    "updating the path '{}' would create a conflict at '{}'",
                    b.join("."),
                    a[..shared].join(".")
                )));
            }
        }
    }
    Ok(())
}

/// `$inc` arithmetic with MongoDB's type rules: Int32 + Int32 stays Int32
/// unless it overflows, integers widen to Int64, any Double makes a Double.
fn add(current: &Bson, delta: &Bson, path: &[String]) -> Result<Bson, ApiError> {
    let overflow = || {
        ApiError::cannot_apply(format!(
            "$inc on '{}' overflows a 64-bit integer",
            path.join(".")
        ))
    };
    Ok(match (current, delta) {
        (Bson::Int32(a), Bson::Int32(b)) => match a.checked_add(*b) {
            Some(sum) => Bson::Int32(sum),
            None => Bson::Int64(i64::from(*a) + i64::from(*b)),
        },
        (Bson::Int32(_) | Bson::Int64(_), Bson::Int32(_) | Bson::Int64(_)) => {
            let (a, b) = (as_i64(current), as_i64(delta));
            Bson::Int64(a.checked_add(b).ok_or_else(overflow)?)
        }
        (Bson::Double(a), _) => Bson::Double(a + as_f64(delta)),
        (Bson::Int32(_) | Bson::Int64(_), Bson::Double(b)) => Bson::Double(as_f64(current) + b),
        _ => {
            return Err(ApiError::cannot_apply(format!(
                "cannot apply $inc to '{}', which is {} (only Int32, Int64 and Double)",
                path.join("."),
                type_name(current)
            )))
        }
    })
}

fn as_i64(value: &Bson) -> i64 {
    match value {
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        _ => 0,
    }
}

fn as_f64(value: &Bson) -> f64 {
    match value {
        Bson::Int32(i) => f64::from(*i),
        Bson::Int64(i) => *i as f64,
        Bson::Double(f) => *f,
        _ => 0.0,
    }
}

pub fn type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "a double",
        Bson::String(_) => "a string",
        Bson::Array(_) => "an array",
        Bson::Document(_) => "a document",
        Bson::Boolean(_) => "a boolean",
        Bson::Null => "null",
        Bson::Int32(_) => "an int32",
        Bson::Int64(_) => "an int64",
        Bson::Decimal128(_) => "a decimal128",
        Bson::ObjectId(_) => "an objectId",
        Bson::DateTime(_) => "a date",
        _ => "a value of another BSON type",
    }
}

/// The value at a path, without looking through arrays of documents (an
/// update writes one place). Numeric segments index arrays.
pub fn get_path_mut<'a>(doc: &'a mut Document, path: &[String]) -> Option<&'a mut Bson> {
    let (first, rest) = path.split_first()?;
    let mut current = doc.get_mut(first)?;
    for segment in rest {
        current = match current {
            Bson::Document(sub) => sub.get_mut(segment)?,
            Bson::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Writes `value` at `path`, creating intermediate documents; numeric
/// segments index (and pad) arrays. Fails where a scalar is in the way.
pub fn set_path(doc: &mut Document, path: &[String], value: Bson) -> Result<(), ApiError> {
    let Some((first, rest)) = path.split_first() else {
        return Err(ApiError::invalid("empty field path"));
    };
    if rest.is_empty() {
        doc.insert(first.clone(), value);
        return Ok(());
    }
    if !doc.contains_key(first) {
        doc.insert(first.clone(), Document::new());
    }
    match doc.get_mut(first) {
        Some(child) => set_in_value(child, first, rest, value),
        None => Err(ApiError::internal("field vanished while setting a path")),
    }
}

fn set_in_value(
    child: &mut Bson,
    name: &str,
    rest: &[String],
    value: Bson,
) -> Result<(), ApiError> {
    match child {
        Bson::Document(sub) => set_path(sub, rest, value),
        Bson::Array(items) => {
            let (segment, after) = rest
                .split_first()
                .ok_or_else(|| ApiError::internal("empty path remainder"))?;
            let index: usize = segment.parse().map_err(|_| {
                ApiError::cannot_apply(format!(
                    "cannot create field '{segment}' in the array '{name}'"
                ))
            })?;
            if index > items.len() + MAX_ARRAY_PAD {
                return Err(ApiError::cannot_apply(format!(
                    "array index {index} in '{name}' is too large"
                )));
            }
            while items.len() <= index {
                items.push(Bson::Null);
            }
            let slot = items
                .get_mut(index)
                .ok_or_else(|| ApiError::internal("array slot vanished"))?;
            if after.is_empty() {
                *slot = value;
                Ok(())
            } else {
                if matches!(slot, Bson::Null) {
                    *slot = Bson::Document(Document::new());
                }
                set_in_value(slot, segment, after, value)
            }
        }
        other => Err(ApiError::cannot_apply(format!(
            "cannot create field '{}' inside '{name}', which is {}",
            rest.first().map(String::as_str).unwrap_or_default(),
            type_name(other)
        ))),
    }
}

/// Removes the field at `path`; an array element is set to null instead, as
/// MongoDB does. Missing paths are a no-op.
pub fn unset_path(doc: &mut Document, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if parents.is_empty() {
        doc.remove(last);
        return;
    }
    match get_path_mut(doc, parents) {
        Some(Bson::Document(sub)) => {
            sub.remove(last);
        }
        Some(Bson::Array(items)) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = Bson::Null;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn apply(update: Document, mut doc: Document) -> Result<Document, ApiError> {
        Update::parse(&update)?.apply(&mut doc, false)?;
        Ok(doc)
    }

    #[test]
    fn set_unset_and_nested_paths() {
        let out = apply(
            doc! { "$set": { "a.b": 1, "c": "x" }, "$unset": { "d": "" } },
            doc! { "_id": 1, "d": 4 },
        )
        .expect("applies");
        assert_eq!(out, doc! { "_id": 1, "a": { "b": 1 }, "c": "x" });
        let out = apply(doc! { "$set": { "arr.2": 9 } }, doc! { "arr": [1] }).expect("applies");
        assert_eq!(out, doc! { "arr": [1, null, 9] });
    }

    #[test]
    fn inc_keeps_mongodb_number_types() {
        let out = apply(
            doc! { "$inc": { "a": 1, "b": 1_i64, "c": 0.5, "d": 2 } },
            doc! { "a": 1, "b": 1, "c": 1 },
        )
        .expect("applies");
        assert_eq!(out, doc! { "a": 2, "b": 2_i64, "c": 1.5, "d": 2 });
        let out = apply(doc! { "$inc": { "a": 1 } }, doc! { "a": i32::MAX }).expect("applies");
        assert_eq!(out, doc! { "a": i64::from(i32::MAX) + 1 });
        let err = apply(doc! { "$inc": { "a": 1 } }, doc! { "a": "x" }).expect_err("string");
        assert!(err.to_string().contains("$inc"), "{err}");
    }

    #[test]
    fn push_appends_and_each() {
        let out = apply(
            doc! { "$push": { "a": 3, "b": { "$each": [1, 2] } } },
            doc! { "a": [1, 2] },
        )
        .expect("applies");
        assert_eq!(out, doc! { "a": [1, 2, 3], "b": [1, 2] });
        assert!(apply(doc! { "$push": { "a": 1 } }, doc! { "a": 5 }).is_err());
    }

    #[test]
    fn set_on_insert_only_when_inserting() {
        let update =
            Update::parse(&doc! { "$setOnInsert": { "created": true }, "$set": { "n": 1 } })
                .expect("valid");
        let mut existing = doc! {};
        update.apply(&mut existing, false).expect("applies");
        assert_eq!(existing, doc! { "n": 1 });
        let mut fresh = doc! {};
        update.apply(&mut fresh, true).expect("applies");
        assert_eq!(fresh, doc! { "created": true, "n": 1 });
    }

    #[test]
    fn refusals() {
        for (update, needle) in [
            (doc! { "$rename": { "a": "b" } }, "$rename"),
            (doc! { "plain": 1 }, "replaceOne"),
            (doc! { "$set": { "a": 1 }, "$inc": { "a": 1 } }, "conflict"),
            (doc! { "$set": { "a.$": 1 } }, "$"),
            (
                doc! { "$push": { "a": { "$each": [1], "$slice": 2 } } },
                "$slice",
            ),
            (doc! { "$inc": { "a": "1" } }, "number"),
        ] {
            let err = Update::parse(&update).expect_err("must be refused");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
