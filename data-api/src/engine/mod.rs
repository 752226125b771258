//! The embedded document engine: the default backend, persisting to the
//! data dir. `execute` turns each action into reads of, or one atomic write
//! to, a collection in the [`store::Store`].

pub mod aggregate;
pub mod expr;
pub mod log;
pub mod matcher;
pub mod projection;
pub mod sort;
pub mod store;
pub mod update;
pub mod value;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use bson::oid::ObjectId;
use bson::{Bson, Document};

use crate::backend::{Action, Backend, BoxFuture, FindArgs, Namespace, Reply, UpdateArgs};
use crate::error::ApiError;
use aggregate::Pipeline;
use log::Change;
use matcher::Filter;
use projection::Projection;
use sort::Sort;
use store::{Docs, Store};
use update::Update;
use value::{values_equal, ValueKey};

/// MongoDB's limit on one document's BSON size.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

pub struct EmbeddedBackend {
    store: Arc<Store>,
}

impl EmbeddedBackend {
    pub fn open(dir: &Path) -> std::io::Result<EmbeddedBackend> {
        Ok(EmbeddedBackend {
            store: Arc::new(Store::open(dir)?),
        })
    }
}

impl Backend for EmbeddedBackend {
    fn execute(&self, ns: Namespace, action: Action) -> BoxFuture<'_, Result<Reply, ApiError>> {
        let store = self.store.clone();
        Box::pin(async move {
            match action {
                // Reads only touch memory: run them on the async worker.
                Action::FindOne(_) | Action::Find(_) | Action::Aggregate { .. } => {
                    execute(&store, &ns, action)
                }
                // Writes fsync: keep them off the async workers.
                _ => tokio::task::spawn_blocking(move || execute(&store, &ns, action))
                    .await
                    .map_err(ApiError::internal)?,
            }
        })
    }

    fn describe(&self) -> String {
        format!(
            "embedded store, {} collections",
            self.store.collection_count()
        )
    }
}

/// Runs one action synchronously (public for tests and tools).
pub fn execute(store: &Store, ns: &Namespace, action: Action) -> Result<Reply, ApiError> {
    match action {
        Action::FindOne(args) => Ok(Reply::Document(find(store, ns, &args)?.into_iter().next())),
        Action::Find(args) => find(store, ns, &args).map(Reply::Documents),
        Action::Aggregate { pipeline } => aggregate(store, ns, &pipeline).map(Reply::Documents),
        Action::InsertOne { document } => {
            let mut ids = insert(store, ns, vec![document])?;
            Ok(Reply::InsertedId(ids.pop().unwrap_or(Bson::Null)))
        }
        Action::InsertMany { documents } => insert(store, ns, documents).map(Reply::InsertedIds),
        Action::UpdateOne(args) => update(store, ns, &args, true),
        Action::UpdateMany(args) => update(store, ns, &args, false),
        Action::ReplaceOne {
            filter,
            replacement,
            upsert,
        } => replace(store, ns, &filter, replacement, upsert),
        Action::DeleteOne { filter } => delete(store, ns, &filter, true),
        Action::DeleteMany { filter } => delete(store, ns, &filter, false),
    }
}

/// Matching documents in natural order, found by `_id` when the filter pins
/// one, by a full scan otherwise.
fn matching<'a>(docs: &'a Docs, filter: &'a Filter) -> Box<dyn Iterator<Item = &'a Document> + 'a> {
    match filter.pinned_id() {
        Some(id) => Box::new(docs.get_by_id(id).into_iter().filter(|d| filter.matches(d))),
        None => Box::new(docs.iter().filter(|d| filter.matches(d))),
    }
}

fn find(store: &Store, ns: &Namespace, args: &FindArgs) -> Result<Vec<Document>, ApiError> {
    let filter = Filter::parse(&args.filter)?;
    let projection = args
        .projection
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|p| Projection::parse(p, false))
        .transpose()?;
    let sort = args
        .sort
        .as_ref()
        .filter(|s| !s.is_empty())
        .map(Sort::parse)
        .transpose()?;
    let Some(collection) = store.get(ns)? else {
        return Ok(Vec::new());
    };
    let docs = collection.read()?;
    let skip = usize::try_from(args.skip).unwrap_or(usize::MAX);
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let selected: Vec<&Document> = match &sort {
        Some(sort) => {
            let mut all: Vec<&Document> = matching(&docs, &filter).collect();
            sort.sort(&mut all);
            all.into_iter().skip(skip).take(limit).collect()
        }
        // Without a sort, stop scanning as soon as the page is full.
        None => matching(&docs, &filter).skip(skip).take(limit).collect(),
    };
    Ok(selected
        .into_iter()
        .map(|doc| match &projection {
            Some(p) => p.apply(doc),
            None => doc.clone(),
        })
        .collect())
}

fn aggregate(
    store: &Store,
    ns: &Namespace,
    pipeline: &[Document],
) -> Result<Vec<Document>, ApiError> {
    let pipeline = Pipeline::parse(pipeline)?;
    let input = match store.get(ns)? {
        Some(collection) => {
            let docs = collection.read()?;
            match pipeline.leading_match() {
                Some(filter) => matching(&docs, filter).cloned().collect(),
                None => docs.iter().cloned().collect(),
            }
        }
        None => Vec::new(),
    };
    pipeline.run(input)
}

fn insert(store: &Store, ns: &Namespace, documents: Vec<Document>) -> Result<Vec<Bson>, ApiError> {
    let mut prepared = Vec::with_capacity(documents.len());
    for doc in documents {
        check_field_names(&doc)?;
        prepared.push(with_id_first(doc, None)?);
    }
    let collection = store.get_or_create(ns)?;
    // All or nothing: a duplicate anywhere rejects the whole batch.
    collection.write(|docs| {
        let mut batch = HashSet::new();
        let mut ids = Vec::with_capacity(prepared.len());
        for doc in &prepared {
            let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
            if docs.contains_id(&id) || !batch.insert(ValueKey::of(&id)) {
                return Err(ApiError::DuplicateKey(
                    id.into_relaxed_extjson().to_string(),
                ));
            }
            ids.push(id);
        }
        Ok((prepared.into_iter().map(Change::Put).collect(), ids))
    })
}

fn update(
    store: &Store,
    ns: &Namespace,
    args: &UpdateArgs,
    just_one: bool,
) -> Result<Reply, ApiError> {
    let filter = Filter::parse(&args.filter)?;
    let update = Update::parse(&args.update)?;
    let collection = store.get_or_create(ns)?;
    collection.write(|docs| {
        let mut changes = Vec::new();
        let mut matched = 0;
        for old in matching(docs, &filter).take(if just_one { 1 } else { usize::MAX }) {
            matched += 1;
            let mut new = old.clone();
            update.apply(&mut new, false)?;
            keep_same_id(old, &new)?;
            if new != *old {
                check_size(&new)?;
                changes.push(Change::Put(new));
            }
        }
        let modified = changes.len() as u64;
        let mut upserted_id = None;
        if matched == 0 && args.upsert {
            let mut seed = upsert_seed(&filter)?;
            update.apply(&mut seed, true)?;
            let new = with_id_first(seed, filter.pinned_id())?;
            let id = new.get("_id").cloned().unwrap_or(Bson::Null);
            if docs.contains_id(&id) {
                return Err(ApiError::DuplicateKey(
                    id.into_relaxed_extjson().to_string(),
                ));
            }
            check_size(&new)?;
            changes.push(Change::Put(new));
            upserted_id = Some(id);
        }
        let reply = Reply::Updated {
            matched,
            modified,
            upserted_id,
        };
        Ok((changes, reply))
    })
}

fn replace(
    store: &Store,
    ns: &Namespace,
    filter: &Document,
    replacement: Document,
    upsert: bool,
) -> Result<Reply, ApiError> {
    let filter = Filter::parse(filter)?;
    if let Some(op) = replacement.keys().find(|k| k.starts_with('$')) {
        return Err(ApiError::invalid(format!(
            "replacement must be a plain document, found operator '{op}'; use updateOne for update operators"
        )));
    }
    check_field_names(&replacement)?;
    let collection = store.get_or_create(ns)?;
    collection.write(|docs| {
        if let Some(old) = matching(docs, &filter).next() {
            let old_id = old.get("_id").cloned().unwrap_or(Bson::Null);
            if let Some(new_id) = replacement.get("_id") {
                if !values_equal(new_id, &old_id) {
                    return Err(ApiError::cannot_apply(
                        "the replacement would change the immutable field '_id'",
                    ));
                }
            }
            let new = with_id_first(replacement.clone(), Some(&old_id))?;
            check_size(&new)?;
            let modified = u64::from(new != *old);
            let changes = if modified == 1 {
                vec![Change::Put(new)]
            } else {
                Vec::new()
            };
            return Ok((
                changes,
                Reply::Updated {
                    matched: 1,
                    modified,
                    upserted_id: None,
                },
            ));
        }
        if !upsert {
            return Ok((
                Vec::new(),
                Reply::Updated {
                    matched: 0,
                    modified: 0,
                    upserted_id: None,
                },
            ));
        }
        let new = with_id_first(replacement.clone(), filter.pinned_id())?;
        let id = new.get("_id").cloned().unwrap_or(Bson::Null);
        if docs.contains_id(&id) {
            return Err(ApiError::DuplicateKey(
                id.into_relaxed_extjson().to_string(),
            ));
        }
        check_size(&new)?;
        Ok((
            vec![Change::Put(new)],
            Reply::Updated {
                matched: 0,
                modified: 0,
                upserted_id: Some(id),
            },
        ))
    })
}

fn delete(
    store: &Store,
    ns: &Namespace,
    filter: &Document,
    just_one: bool,
) -> Result<Reply, ApiError> {
    let filter = Filter::parse(filter)?;
    let Some(collection) = store.get(ns)? else {
        return Ok(Reply::Deleted(0));
    };
    collection.write(|docs| {
        let changes: Vec<Change> = matching(docs, &filter)
            .take(if just_one { 1 } else { usize::MAX })
            .map(|doc| Change::Delete(doc.get("_id").cloned().unwrap_or(Bson::Null)))
            .collect();
        let deleted = changes.len() as u64;
        Ok((changes, Reply::Deleted(deleted)))
    })
}

/// The document an upsert starts from: the filter's equality fields.
fn upsert_seed(filter: &Filter) -> Result<Document, ApiError> {
    let mut seed = Document::new();
    for (path, value) in filter.equality_fields() {
        update::set_path(&mut seed, path, value.clone())?;
    }
    Ok(seed)
}

/// Puts `_id` first, taking it from the document, else `fallback`, else a
/// new ObjectId.
fn with_id_first(mut doc: Document, fallback: Option<&Bson>) -> Result<Document, ApiError> {
    let id = match doc.remove("_id") {
        Some(id) => id,
        None => fallback
            .cloned()
            .unwrap_or_else(|| Bson::ObjectId(ObjectId::new())),
    };
    if matches!(
        id,
        Bson::Array(_) | Bson::RegularExpression(_) | Bson::Undefined
    ) {
        return Err(ApiError::invalid(
            "_id may not be an array, a regular expression or undefined",
        ));
    }
    let mut out = Document::new();
    out.insert("_id", id);
    out.extend(doc);
    check_size(&out)?;
    Ok(out)
}

fn keep_same_id(old: &Document, new: &Document) -> Result<(), ApiError> {
    match (old.get("_id"), new.get("_id")) {
        (Some(a), Some(b)) if values_equal(a, b) => Ok(()),
        _ => Err(ApiError::cannot_apply(
            "the update would change the immutable field '_id'",
        )),
    }
}

/// Top-level `$` field names are refused: they are nearly always an update
/// or a query sent to the wrong action.
fn check_field_names(doc: &Document) -> Result<(), ApiError> {
    match doc.keys().find(|k| k.starts_with('$')) {
        Some(key) => Err(ApiError::invalid(format!(
            "document field names may not start with '$' (found '{key}')"
        ))),
        None => Ok(()),
    }
}

fn check_size(doc: &Document) -> Result<(), ApiError> {
    let mut buf = Vec::new();
    doc.to_writer(&mut buf)
        .map_err(|e| ApiError::invalid(format!("document cannot be stored as BSON: {e}")))?;
    if buf.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::invalid(format!(
            "document is {} bytes, over the 16 MiB BSON limit",
            buf.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn ns() -> Namespace {
        Namespace {
            database: "db".into(),
            collection: "c".into(),
        }
    }

    fn run(store: &Store, action: Action) -> Result<Reply, ApiError> {
        execute(store, &ns(), action)
    }

    #[test]
    fn upsert_applies_filter_equalities_and_set_on_insert() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let args = UpdateArgs {
            filter: doc! { "doctorId": "d1", "day": { "$eq": "mon" }, "n": { "$gt": 1 } },
            update: doc! { "$inc": { "n": 5 }, "$setOnInsert": { "created": true } },
            upsert: true,
        };
        let Reply::Updated {
            matched: 0,
            modified: 0,
            upserted_id: Some(id),
        } = run(&store, Action::UpdateOne(args.clone())).expect("upsert")
        else {
            panic!("expected an upsert");
        };
        let found = run(
            &store,
            Action::FindOne(FindArgs {
                limit: 1,
                ..Default::default()
            }),
        )
        .expect("find");
        assert_eq!(
            found,
            Reply::Document(Some(
                doc! { "_id": id, "created": true, "day": "mon", "doctorId": "d1", "n": 5 }
            ))
        );
        // The second time it matches (n is 5 > 1), so it only increments.
        let reply = run(&store, Action::UpdateOne(args)).expect("update");
        assert_eq!(
            reply,
            Reply::Updated {
                matched: 1,
                modified: 1,
                upserted_id: None
            }
        );
    }

    #[test]
    fn insert_many_is_all_or_nothing_on_duplicates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        run(
            &store,
            Action::InsertOne {
                document: doc! { "_id": 1 },
            },
        )
        .expect("insert");
        let err = run(
            &store,
            Action::InsertMany {
                documents: vec![doc! { "_id": 2 }, doc! { "_id": 1.0 }],
            },
        )
        .expect_err("duplicate");
        assert!(matches!(err, ApiError::DuplicateKey(_)));
        let all = run(
            &store,
            Action::Find(FindArgs {
                limit: 10,
                ..Default::default()
            }),
        )
        .expect("find");
        assert_eq!(all, Reply::Documents(vec![doc! { "_id": 1 }]));
    }

    #[test]
    fn update_may_not_change_id_and_failed_updates_change_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        run(
            &store,
            Action::InsertMany {
                documents: vec![doc! { "_id": 1, "v": 1 }, doc! { "_id": 2, "v": "x" }],
            },
        )
        .expect("insert");
        let set_id = UpdateArgs {
            filter: doc! {},
            update: doc! { "$set": { "_id": 5 } },
            upsert: false,
        };
        assert!(run(&store, Action::UpdateOne(set_id)).is_err());
        // $inc fails on the second document, so the first is not changed either.
        let inc = UpdateArgs {
            filter: doc! {},
            update: doc! { "$inc": { "v": 1 } },
            upsert: false,
        };
        assert!(run(&store, Action::UpdateMany(inc)).is_err());
        let all = run(
            &store,
            Action::Find(FindArgs {
                limit: 10,
                ..Default::default()
            }),
        )
        .expect("find");
        assert_eq!(
            all,
            Reply::Documents(vec![doc! { "_id": 1, "v": 1 }, doc! { "_id": 2, "v": "x" }])
        );
    }
}
