//! BSON value semantics shared by the matcher, sort, `$group` and the `_id`
//! index: MongoDB's cross-type ordering, numbers equal across Int32, Int64 and
//! Double, and dotted-path lookups that look through arrays.

use std::cmp::Ordering;

use bson::{Bson, Document};

/// MongoDB's comparison order of BSON types (numbers share one rank, as do
/// strings and symbols, and null and undefined).
pub fn type_rank(value: &Bson) -> u8 {
    match value {
        Bson::MinKey => 1,
        Bson::Null | Bson::Undefined => 2,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => 3,
        Bson::String(_) | Bson::Symbol(_) => 4,
        Bson::Document(_) => 5,
        Bson::Array(_) => 6,
        Bson::Binary(_) => 7,
        Bson::ObjectId(_) => 8,
        Bson::Boolean(_) => 9,
        Bson::DateTime(_) => 10,
        Bson::Timestamp(_) => 11,
        Bson::RegularExpression(_) => 12,
        Bson::DbPointer(_) => 13,
        Bson::JavaScriptCode(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::MaxKey => 255,
    }
}

/// A number of any BSON numeric type, for comparison and arithmetic.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn of(value: &Bson) -> Option<Number> {
        match value {
            Bson::Int32(i) => Some(Number::Int(i64::from(*i))),
            Bson::Int64(i) => Some(Number::Int(*i)),
            Bson::Double(f) => Some(Number::Float(*f)),
            // bson 2 has no decimal arithmetic; its decimal string read as f64
            // orders correctly up to ~15 significant digits (see README).
            Bson::Decimal128(d) => Some(Number::Float(d.to_string().parse().unwrap_or(f64::NAN))),
            _ => None,
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// The integer this number is exactly, if any (5.0 -> 5).
    fn as_exact_int(self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(i),
            Number::Float(f)
                if f.fract() == 0.0
                    && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) =>
            {
                Some(f as i64)
            }
            Number::Float(_) => None,
        }
    }
}

/// NaN sorts below every other number and equals itself, as in MongoDB.
pub fn compare_numbers(a: Number, b: Number) -> Ordering {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => x.cmp(&y),
        (Number::Float(x), Number::Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        },
        (Number::Int(x), Number::Float(y)) => compare_int_float(x, y),
        (Number::Float(x), Number::Int(y)) => compare_int_float(y, x).reverse(),
    }
}

/// Exact comparison of an i64 with an f64 (casting either way loses precision
/// for large values).
fn compare_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Greater;
    }
    if f >= 9.223_372_036_854_776e18 {
        return Ordering::Less;
    }
    if f < -9.223_372_036_854_776e18 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i64)) {
        Ordering::Equal if f > whole => Ordering::Less,
        Ordering::Equal if f < whole => Ordering::Greater,
        other => other,
    }
}

/// MongoDB's total order over BSON values.
pub fn compare_values(a: &Bson, b: &Bson) -> Ordering {
    let by_rank = type_rank(a).cmp(&type_rank(b));
    if by_rank != Ordering::Equal {
        return by_rank;
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => {
            x.as_bytes().cmp(y.as_bytes())
        }
        (Bson::Document(x), Bson::Document(y)) => compare_documents(x, y),
        (Bson::Array(x), Bson::Array(y)) => {
            for (l, r) in x.iter().zip(y.iter()) {
                let ord = compare_values(l, r);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::Binary(x), Bson::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| u8::from(x.subtype).cmp(&u8::from(y.subtype)))
            .then_with(|| x.bytes.cmp(&y.bytes)),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.timestamp_millis().cmp(&y.timestamp_millis()),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => {
            (x.time, x.increment).cmp(&(y.time, y.increment))
        }
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => {
            (x.pattern.as_str(), x.options.as_str()).cmp(&(y.pattern.as_str(), y.options.as_str()))
        }
        (Bson::JavaScriptCode(x), Bson::JavaScriptCode(y)) => x.cmp(y),
        (Bson::JavaScriptCodeWithScope(x), Bson::JavaScriptCodeWithScope(y)) => x
            .code
            .cmp(&y.code)
            .then_with(|| compare_documents(&x.scope, &y.scope)),
        _ => match (Number::of(a), Number::of(b)) {
            (Some(x), Some(y)) => compare_numbers(x, y),
            // Same rank and no content to compare: null/undefined, min/max key,
            // and DbPointer (whose fields bson keeps private).
            _ => Ordering::Equal,
        },
    }
}

/// Field by field, in order: value type, then field name, then value.
fn compare_documents(x: &Document, y: &Document) -> Ordering {
    for ((kx, vx), (ky, vy)) in x.iter().zip(y.iter()) {
        let ord = type_rank(vx)
            .cmp(&type_rank(vy))
            .then_with(|| kx.as_bytes().cmp(ky.as_bytes()))
            .then_with(|| compare_values(vx, vy));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    x.len().cmp(&y.len())
}

pub fn values_equal(a: &Bson, b: &Bson) -> bool {
    compare_values(a, b) == Ordering::Equal
}

/// A hashable key such that `key(a) == key(b)` exactly when `values_equal(a, b)`:
/// used for the `_id` index and `$group` keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueKey(Vec<u8>);

impl ValueKey {
    pub fn of(value: &Bson) -> ValueKey {
        let mut out = Vec::with_capacity(16);
        write_key(value, &mut out);
        ValueKey(out)
    }
}

fn write_key(value: &Bson, out: &mut Vec<u8>) {
    out.push(type_rank(value));
    match value {
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
            let number = Number::of(value).unwrap_or(Number::Float(f64::NAN));
            match number.as_exact_int() {
                Some(i) => {
                    out.push(b'i');
                    out.extend_from_slice(&i.to_le_bytes());
                }
                None => {
                    let f = number.as_f64();
                    out.push(b'f');
                    let bits = if f.is_nan() {
                        f64::NAN.to_bits()
                    } else {
                        f.to_bits()
                    };
                    out.extend_from_slice(&bits.to_le_bytes());
                }
            }
        }
        Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => {
            write_bytes(s.as_bytes(), out)
        }
        Bson::Document(doc) => write_document_key(doc, out),
        Bson::Array(items) => {
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                write_key(item, out);
            }
        }
        Bson::Binary(bin) => {
            out.push(u8::from(bin.subtype));
            write_bytes(&bin.bytes, out);
        }
        Bson::ObjectId(oid) => out.extend_from_slice(&oid.bytes()),
        Bson::Boolean(b) => out.push(u8::from(*b)),
        Bson::DateTime(dt) => out.extend_from_slice(&dt.timestamp_millis().to_le_bytes()),
        Bson::Timestamp(ts) => {
            out.extend_from_slice(&ts.time.to_le_bytes());
            out.extend_from_slice(&ts.increment.to_le_bytes());
        }
        Bson::RegularExpression(re) => {
            write_bytes(re.pattern.as_bytes(), out);
            write_bytes(re.options.as_bytes(), out);
        }
        Bson::JavaScriptCodeWithScope(code) => {
            write_bytes(code.code.as_bytes(), out);
            write_document_key(&code.scope, out);
        }
        Bson::Null | Bson::Undefined | Bson::MinKey | Bson::MaxKey | Bson::DbPointer(_) => {}
    }
}

fn write_document_key(doc: &Document, out: &mut Vec<u8>) {
    out.extend_from_slice(&(doc.len() as u64).to_le_bytes());
    for (key, value) in doc {
        write_bytes(key.as_bytes(), out);
        write_key(value, out);
    }
}

fn write_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// MongoDB's document nesting limit; longer paths are refused, which also
/// bounds the recursion of every path walk.
pub const MAX_PATH_DEPTH: usize = 100;

/// Splits a dotted path, refusing empty segments ("a..b", ".a") and paths
/// deeper than [`MAX_PATH_DEPTH`].
pub fn split_path(path: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.len() > MAX_PATH_DEPTH || parts.iter().any(|p| p.is_empty()) {
        None
    } else {
        Some(parts)
    }
}

/// All values a query path reaches, looking through arrays of subdocuments
/// the way MongoDB does: `a.b` on `{a: [{b: 1}, {b: 2}]}` reaches 1 and 2,
/// and a numeric segment indexes an array (`a.0.b`).
pub fn path_values<'a>(doc: &'a Document, path: &[&str]) -> Vec<&'a Bson> {
    let mut out = Vec::new();
    collect_path(doc, path, &mut out);
    out
}

fn collect_path<'a>(doc: &'a Document, path: &[&str], out: &mut Vec<&'a Bson>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if let Some(value) = doc.get(*first) {
        descend(value, rest, out);
    }
}

fn descend<'a>(value: &'a Bson, rest: &[&str], out: &mut Vec<&'a Bson>) {
    let Some((next, after)) = rest.split_first() else {
        out.push(value);
        return;
    };
    match value {
        Bson::Document(sub) => collect_path(sub, rest, out),
        Bson::Array(items) => {
            if let Ok(index) = next.parse::<usize>() {
                if let Some(item) = items.get(index) {
                    descend(item, after, out);
                }
            }
            for item in items {
                if let Bson::Document(sub) = item {
                    collect_path(sub, rest, out);
                }
            }
        }
        _ => {}
    }
}

/// The value an aggregation expression `"$a.b"` evaluates to: like MongoDB,
/// a path through an array of subdocuments yields the array of their values.
/// `None` when the field is missing.
pub fn expression_path_value(doc: &Document, path: &[&str]) -> Option<Bson> {
    let (first, rest) = path.split_first()?;
    let value = doc.get(*first)?;
    if rest.is_empty() {
        return Some(value.clone());
    }
    match value {
        Bson::Document(sub) => expression_path_value(sub, rest),
        Bson::Array(items) => Some(Bson::Array(
            items
                .iter()
                .filter_map(|item| match item {
                    Bson::Document(sub) => expression_path_value(sub, rest),
                    _ => None,
                })
                .collect(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId, DateTime};

    #[test]
    fn numbers_of_different_types_are_equal() {
        assert!(values_equal(&Bson::Int32(5), &Bson::Int64(5)));
        assert!(values_equal(&Bson::Int64(5), &Bson::Double(5.0)));
        assert!(!values_equal(&Bson::Int32(5), &Bson::Double(5.5)));
        assert_eq!(
            ValueKey::of(&Bson::Int32(5)),
            ValueKey::of(&Bson::Double(5.0))
        );
        assert_ne!(
            ValueKey::of(&Bson::Int32(5)),
            ValueKey::of(&Bson::String("5".into()))
        );
    }

    #[test]
    fn large_integers_compare_exactly_with_doubles() {
        let big = i64::MAX - 1;
        assert_eq!(
            compare_values(&Bson::Int64(big), &Bson::Double(9.3e18)),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&Bson::Int64(3), &Bson::Double(2.5)),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&Bson::Int64(-3), &Bson::Double(-2.5)),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&Bson::Double(f64::NAN), &Bson::Int32(i32::MIN)),
            Ordering::Less
        );
    }

    #[test]
    fn types_order_like_mongodb() {
        let ordered = [
            Bson::Null,
            Bson::Int32(1),
            Bson::String("a".into()),
            Bson::Document(doc! {}),
            Bson::Array(vec![]),
            Bson::ObjectId(ObjectId::new()),
            Bson::Boolean(false),
            Bson::DateTime(DateTime::from_millis(0)),
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                compare_values(&pair[0], &pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
        }
    }

    #[test]
    fn paths_look_through_arrays_of_documents() {
        let d = doc! { "a": [ { "b": 1 }, { "b": 2 }, 7 ], "c": { "d": "x" } };
        let found = path_values(&d, &["a", "b"]);
        assert_eq!(found, vec![&Bson::Int32(1), &Bson::Int32(2)]);
        assert_eq!(path_values(&d, &["a", "1", "b"]), vec![&Bson::Int32(2)]);
        assert_eq!(
            path_values(&d, &["c", "d"]),
            vec![&Bson::String("x".into())]
        );
        assert!(path_values(&d, &["c", "e"]).is_empty());
        assert_eq!(
            expression_path_value(&d, &["a", "b"]),
            Some(Bson::Array(vec![Bson::Int32(1), Bson::Int32(2)]))
        );
    }
}
