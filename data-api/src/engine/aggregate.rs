//! Aggregation pipelines: `$match $group $sort $limit $skip $project $count`.
//! The whole pipeline is parsed before any document is read, so an
//! unsupported stage or operator fails even on an empty collection.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use bson::{Bson, Document};

use super::expr::Expr;
use super::matcher::Filter;
use super::projection::Projection;
use super::sort::Sort;
use super::value::{compare_values, Number, ValueKey};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Pipeline {
    stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
enum Stage {
    Match(Filter),
    Group(Group),
    Sort(Sort),
    Limit(usize),
    Skip(usize),
    Project(Projection),
    Count(String),
}

#[derive(Debug, Clone)]
struct Group {
    key: Expr,
    accumulators: Vec<(String, Accumulator, Expr)>,
}

#[derive(Debug, Clone, Copy)]
enum Accumulator {
    Sum,
    Avg,
    Min,
    Max,
    Push,
    AddToSet,
    First,
    Last,
}

impl Pipeline {
    pub fn parse(stages: &[Document]) -> Result<Pipeline, ApiError> {
        let stages = stages.iter().map(parse_stage).collect::<Result<_, _>>()?;
        Ok(Pipeline { stages })
    }

    /// A leading `$match`, which the store can apply while scanning so only
    /// matching documents are copied out.
    pub fn leading_match(&self) -> Option<&Filter> {
        match self.stages.first() {
            Some(Stage::Match(filter)) => Some(filter),
            _ => None,
        }
    }

    /// Runs the pipeline; `input` has already passed `leading_match` if any.
    pub fn run(&self, mut docs: Vec<Document>) -> Result<Vec<Document>, ApiError> {
        let skip_first = usize::from(self.leading_match().is_some());
        for stage in self.stages.iter().skip(skip_first) {
            docs = match stage {
                Stage::Match(filter) => docs.into_iter().filter(|d| filter.matches(d)).collect(),
                Stage::Group(group) => group.run(&docs)?,
                Stage::Sort(sort) => {
                    sort.sort(&mut docs);
                    docs
                }
                Stage::Limit(n) => {
                    docs.truncate(*n);
                    docs
                }
                Stage::Skip(n) => docs.into_iter().skip(*n).collect(),
                Stage::Project(projection) => docs.iter().map(|d| projection.apply(d)).collect(),
                Stage::Count(field) => {
                    if docs.is_empty() {
                        Vec::new()
                    } else {
                        let mut out = Document::new();
                        out.insert(field.clone(), count_value(docs.len()));
                        vec![out]
                    }
                }
            };
        }
        Ok(docs)
    }
}

fn parse_stage(stage: &Document) -> Result<Stage, ApiError> {
    let mut entries = stage.iter();
    let (Some((name, spec)), None) = (entries.next(), entries.next()) else {
        return Err(ApiError::invalid(
            "each pipeline stage must be a document with exactly one field",
        ));
    };
    match name.as_str() {
        "$match" => Ok(Stage::Match(Filter::parse(as_document(name, spec)?)?)),
        "$group" => Ok(Stage::Group(parse_group(as_document(name, spec)?)?)),
        "$sort" => Ok(Stage::Sort(Sort::parse(as_document(name, spec)?)?)),
        "$project" => Ok(Stage::Project(Projection::parse(
            as_document(name, spec)?,
            true,
        )?)),
        "$limit" => match as_count(name, spec)? {
            0 => Err(ApiError::invalid("$limit must be positive")),
            n => Ok(Stage::Limit(n)),
        },
        "$skip" => Ok(Stage::Skip(as_count(name, spec)?)),
        "$count" => match spec {
            Bson::String(field)
                if !field.is_empty() && !field.starts_with('$') && !field.contains('.') =>
            {
                Ok(Stage::Count(field.clone()))
            }
            _ => Err(ApiError::invalid(
                "$count needs a non-empty field name without '$' or '.'",
            )),
        },
        other => Err(ApiError::unsupported("aggregation stage", other)),
    }
}

fn as_document<'a>(stage: &str, spec: &'a Bson) -> Result<&'a Document, ApiError> {
    match spec {
        Bson::Document(doc) => Ok(doc),
        _ => Err(ApiError::invalid(format!("{stage} needs a document"))),
    }
}

fn as_count(stage: &str, spec: &Bson) -> Result<usize, ApiError> {
    let n = match spec {
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        Bson::Double(f) if f.fract() == 0.0 && *f >= 0.0 && *f <= 9.0e15 => *f as i64,
        _ => -1,
    };
    usize::try_from(n)
        .map_err(|_| ApiError::invalid(format!("{stage} needs a non-negative integer")))
}

fn parse_group(spec: &Document) -> Result<Group, ApiError> {
    let key = spec.get("_id").ok_or_else(|| {
        ApiError::invalid("$group needs an _id (use null to group all documents)")
    })?;
    let key = Expr::parse(key)?;
    let mut accumulators = Vec::new();
    for (field, value) in spec {
        if field == "_id" {
            continue;
        }
        if field.contains('.') || field.starts_with('$') {
            return Err(ApiError::invalid(format!(
                "$group output field '{field}' may not contain '.' or start with '$'"
            )));
        }
        let Bson::Document(acc) = value else {
            return Err(ApiError::invalid(format!(
                "$group field '{field}' needs an accumulator such as {{\"$sum\": 1}}"
            )));
        };
        let mut entries = acc.iter();
        let (Some((op, operand)), None) = (entries.next(), entries.next()) else {
            return Err(ApiError::invalid(format!(
                "$group field '{field}' needs exactly one accumulator"
            )));
        };
        let (kind, expr) = match op.as_str() {
            "$sum" => (Accumulator::Sum, Expr::parse(operand)?),
            "$avg" => (Accumulator::Avg, Expr::parse(operand)?),
            "$min" => (Accumulator::Min, Expr::parse(operand)?),
            "$max" => (Accumulator::Max, Expr::parse(operand)?),
            "$push" => (Accumulator::Push, Expr::parse(operand)?),
            "$addToSet" => (Accumulator::AddToSet, Expr::parse(operand)?),
            "$first" => (Accumulator::First, Expr::parse(operand)?),
            "$last" => (Accumulator::Last, Expr::parse(operand)?),
            // {$count: {}} is shorthand for {$sum: 1}.
            "$count" => match operand {
                Bson::Document(d) if d.is_empty() => {
                    (Accumulator::Sum, Expr::Literal(Bson::Int32(1)))
                }
                _ => {
                    return Err(ApiError::invalid(
                        "$count accumulator takes an empty document: {\"$count\": {}}",
                    ))
                }
            },
            other => return Err(ApiError::unsupported("accumulator", other)),
        };
        accumulators.push((field.clone(), kind, expr));
    }
    Ok(Group { key, accumulators })
}

impl Group {
    /// Groups come out in the order their first document was seen.
    fn run(&self, docs: &[Document]) -> Result<Vec<Document>, ApiError> {
        let mut index: HashMap<ValueKey, usize> = HashMap::new();
        let mut groups: Vec<(Bson, Vec<State>)> = Vec::new();
        for doc in docs {
            let key = self.key.eval(doc).unwrap_or(Bson::Null);
            let slot = *index.entry(ValueKey::of(&key)).or_insert_with(|| {
                let states = self
                    .accumulators
                    .iter()
                    .map(|(_, kind, _)| State::new(*kind))
                    .collect();
                groups.push((key, states));
                groups.len() - 1
            });
            let Some((_, states)) = groups.get_mut(slot) else {
                return Err(ApiError::internal("group slot vanished"));
            };
            for ((_, _, expr), state) in self.accumulators.iter().zip(states.iter_mut()) {
                state.add(expr.eval(doc))?;
            }
        }
        Ok(groups
            .into_iter()
            .map(|(key, states)| {
                let mut out = Document::new();
                out.insert("_id", key);
                for ((field, _, _), state) in self.accumulators.iter().zip(states) {
                    out.insert(field.clone(), state.finish());
                }
                out
            })
            .collect())
    }
}

/// The running value of one accumulator in one group.
enum State {
    Sum(NumberSum),
    Avg(NumberSum, u64),
    Min(Option<Bson>),
    Max(Option<Bson>),
    Push(Vec<Bson>),
    AddToSet(Vec<Bson>, HashSet<ValueKey>),
    First(Option<Bson>),
    Last(Option<Bson>),
}

impl State {
    fn new(kind: Accumulator) -> State {
        match kind {
            Accumulator::Sum => State::Sum(NumberSum::default()),
            Accumulator::Avg => State::Avg(NumberSum::default(), 0),
            Accumulator::Min => State::Min(None),
            Accumulator::Max => State::Max(None),
            Accumulator::Push => State::Push(Vec::new()),
            Accumulator::AddToSet => State::AddToSet(Vec::new(), HashSet::new()),
            Accumulator::First => State::First(None),
            Accumulator::Last => State::Last(None),
        }
    }

    /// `value` is `None` when the expression's field is missing.
    fn add(&mut self, value: Option<Bson>) -> Result<(), ApiError> {
        match self {
            // Non-numeric values are ignored by $sum and $avg, as in MongoDB.
            State::Sum(sum) => {
                if let Some(v) = value {
                    sum.add(&v)?;
                }
            }
            State::Avg(sum, count) => {
                if let Some(v) = value {
                    if sum.add(&v)? {
                        *count += 1;
                    }
                }
            }
            State::Min(best) => keep_extreme(best, value, Ordering::Less),
            State::Max(best) => keep_extreme(best, value, Ordering::Greater),
            State::Push(items) => items.extend(value),
            State::AddToSet(items, seen) => {
                if let Some(v) = value {
                    if seen.insert(ValueKey::of(&v)) {
                        items.push(v);
                    }
                }
            }
            State::First(first) => {
                if first.is_none() {
                    *first = Some(value.unwrap_or(Bson::Null));
                }
            }
            State::Last(last) => *last = Some(value.unwrap_or(Bson::Null)),
        }
        Ok(())
    }

    fn finish(self) -> Bson {
        match self {
            State::Sum(sum) => sum.total(),
            State::Avg(sum, count) if count > 0 => Bson::Double(sum.as_f64() / count as f64),
            State::Avg(..) => Bson::Null,
            State::Min(v) | State::Max(v) | State::First(v) | State::Last(v) => {
                v.unwrap_or(Bson::Null)
            }
            State::Push(items) | State::AddToSet(items, _) => Bson::Array(items),
        }
    }
}

/// `$min`/`$max` ignore null and missing values, as in MongoDB.
fn keep_extreme(best: &mut Option<Bson>, value: Option<Bson>, wanted: Ordering) {
    let Some(value) = value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined)) else {
        return;
    };
    if best
        .as_ref()
        .is_none_or(|current| compare_values(&value, current) == wanted)
    {
        *best = Some(value);
    }
}

/// A sum that keeps MongoDB's result type: Int32 while everything fits,
/// Int64 once a long is added or Int32 overflows, Double once a double is.
#[derive(Default)]
struct NumberSum {
    int: i64,
    float: f64,
    saw_long: bool,
    saw_double: bool,
}

impl NumberSum {
    /// Returns whether `value` was a number (and so counted).
    fn add(&mut self, value: &Bson) -> Result<bool, ApiError> {
        match value {
            Bson::Decimal128(_) => Err(ApiError::cannot_apply(
                "$sum/$avg over Decimal128 values is not supported by the embedded engine",
            )),
            Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) => {
                self.saw_long |= matches!(value, Bson::Int64(_));
                match Number::of(value) {
                    Some(Number::Int(i)) if !self.saw_double => match self.int.checked_add(i) {
                        Some(sum) => self.int = sum,
                        None => self.switch_to_double(i as f64),
                    },
                    Some(n) => {
                        if !self.saw_double {
                            self.switch_to_double(0.0);
                        }
                        self.float += n.as_f64();
                    }
                    None => {}
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn switch_to_double(&mut self, extra: f64) {
        self.saw_double = true;
        self.float = self.int as f64 + extra;
    }

    fn as_f64(&self) -> f64 {
        if self.saw_double {
            self.float
        } else {
            self.int as f64
        }
    }

    fn total(&self) -> Bson {
        if self.saw_double {
            Bson::Double(self.float)
        } else if self.saw_long {
            Bson::Int64(self.int)
        } else {
            i32::try_from(self.int).map_or(Bson::Int64(self.int), Bson::Int32)
        }
    }
}

fn count_value(n: usize) -> Bson {
    i32::try_from(n).map_or_else(
        |_| Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX)),
        Bson::Int32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn run(pipeline: Vec<Document>, docs: Vec<Document>) -> Vec<Document> {
        let pipeline = Pipeline::parse(&pipeline).expect("valid pipeline");
        let input = match pipeline.leading_match() {
            Some(f) => docs.into_iter().filter(|d| f.matches(d)).collect(),
            None => docs,
        };
        pipeline.run(input).expect("runs")
    }

    fn tasks() -> Vec<Document> {
        vec![
            doc! { "_id": 1, "status": "complete", "text": "Do the dishes", "mins": 10 },
            doc! { "_id": 2, "status": "open", "text": "Mop", "mins": 20_i64 },
            doc! { "_id": 3, "status": "complete", "text": "Walk", "mins": 2.5 },
            doc! { "_id": 4, "status": "complete", "text": "Cook" },
        ]
    }

    #[test]
    fn group_with_accumulators() {
        let out = run(
            vec![
                doc! { "$match": { "status": "complete" } },
                doc! { "$group": {
                    "_id": "$status",
                    "count": { "$sum": 1 },
                    "tasks": { "$push": "$text" },
                    "total": { "$sum": "$mins" },
                    "avg": { "$avg": "$mins" },
                    "min": { "$min": "$mins" },
                    "max": { "$max": "$mins" },
                    "n": { "$count": {} },
                } },
                doc! { "$sort": { "count": -1 } },
            ],
            tasks(),
        );
        assert_eq!(
            out,
            vec![doc! {
                "_id": "complete",
                "count": 3,
                "tasks": ["Do the dishes", "Walk", "Cook"],
                "total": 12.5,
                "avg": 6.25,
                "min": 2.5,
                "max": 10,
                "n": 3,
            }]
        );
    }

    #[test]
    fn group_by_null_and_by_document() {
        let out = run(
            vec![doc! { "$group": { "_id": null, "n": { "$sum": 1 } } }],
            tasks(),
        );
        assert_eq!(out, vec![doc! { "_id": null, "n": 4 }]);
        let out = run(
            vec![
                doc! { "$group": { "_id": { "s": "$status" }, "ids": { "$addToSet": "$_id" } } },
                doc! { "$sort": { "_id.s": 1 } },
            ],
            tasks(),
        );
        assert_eq!(
            out,
            vec![
                doc! { "_id": { "s": "complete" }, "ids": [1, 3, 4] },
                doc! { "_id": { "s": "open" }, "ids": [2] }
            ]
        );
    }

    #[test]
    fn sort_skip_limit_project_count() {
        let out = run(
            vec![
                doc! { "$sort": { "_id": -1 } },
                doc! { "$skip": 1 },
                doc! { "$limit": 2 },
                doc! { "$project": { "_id": 0, "title": "$text" } },
            ],
            tasks(),
        );
        assert_eq!(out, vec![doc! { "title": "Walk" }, doc! { "title": "Mop" }]);
        let out = run(
            vec![
                doc! { "$match": { "status": "open" } },
                doc! { "$count": "open" },
            ],
            tasks(),
        );
        assert_eq!(out, vec![doc! { "open": 1 }]);
    }

    #[test]
    fn unsupported_stages_and_accumulators_are_named() {
        for (pipeline, name) in [
            (vec![doc! { "$lookup": { "from": "x" } }], "$lookup"),
            (
                vec![doc! { "$group": { "_id": null, "x": { "$stdDevPop": "$a" } } }],
                "$stdDevPop",
            ),
            (
                vec![doc! { "$group": { "_id": { "$toUpper": "$a" } } }],
                "$toUpper",
            ),
            (
                vec![doc! { "$match": { "a": { "$regex": "^x" } } }],
                "$regex",
            ),
        ] {
            let err = Pipeline::parse(&pipeline).expect_err("must be refused");
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
