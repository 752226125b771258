//! The seam between the HTTP layer and storage: a parsed action goes in, a
//! reply comes out. The embedded engine and the MongoDB backend both implement
//! [`Backend`], so the HTTP layer never knows which one it talks to.

use std::future::Future;
use std::pin::Pin;

use bson::{Bson, Document};

use crate::error::ApiError;

/// A boxed future, so `Backend` stays object safe (`Arc<dyn Backend>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Backend: Send + Sync + 'static {
    /// Runs one action atomically against one collection.
    fn execute(&self, ns: Namespace, action: Action) -> BoxFuture<'_, Result<Reply, ApiError>>;

    /// Short name for the start-up log line ("embedded", "mongodb").
    fn describe(&self) -> String;
}

/// Database and collection names, already validated (see `request.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace {
    pub database: String,
    pub collection: String,
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.database, self.collection)
    }
}

/// One Data API action with its arguments, still as raw BSON: each backend
/// interprets filters, updates and pipelines its own way.
#[derive(Debug, Clone)]
pub enum Action {
    FindOne(FindArgs),
    Find(FindArgs),
    InsertOne {
        document: Document,
    },
    InsertMany {
        documents: Vec<Document>,
    },
    UpdateOne(UpdateArgs),
    UpdateMany(UpdateArgs),
    ReplaceOne {
        filter: Document,
        replacement: Document,
        upsert: bool,
    },
    DeleteOne {
        filter: Document,
    },
    DeleteMany {
        filter: Document,
    },
    Aggregate {
        pipeline: Vec<Document>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct FindArgs {
    pub filter: Document,
    pub projection: Option<Document>,
    pub sort: Option<Document>,
    pub skip: u64,
    /// Already resolved against the default (see `request.rs`); 1 for findOne.
    pub limit: u64,
}

#[derive(Debug, Clone)]
pub struct UpdateArgs {
    pub filter: Document,
    pub update: Document,
    pub upsert: bool,
}

/// What an action answers; `into_document` gives the v1 response body.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Document(Option<Document>),
    Documents(Vec<Document>),
    InsertedId(Bson),
    InsertedIds(Vec<Bson>),
    Updated {
        matched: u64,
        modified: u64,
        upserted_id: Option<Bson>,
    },
    Deleted(u64),
}

impl Reply {
    pub fn into_document(self) -> Document {
        let mut out = Document::new();
        match self {
            Reply::Document(doc) => {
                out.insert("document", doc.map(Bson::Document).unwrap_or(Bson::Null));
            }
            Reply::Documents(docs) => {
                let docs: Vec<Bson> = docs.into_iter().map(Bson::Document).collect();
                out.insert("documents", docs);
            }
            Reply::InsertedId(id) => {
                out.insert("insertedId", id);
            }
            Reply::InsertedIds(ids) => {
                out.insert("insertedIds", ids);
            }
            Reply::Updated {
                matched,
                modified,
                upserted_id,
            } => {
                out.insert("matchedCount", count(matched));
                out.insert("modifiedCount", count(modified));
                if let Some(id) = upserted_id {
                    out.insert("upsertedId", id);
                }
            }
            Reply::Deleted(n) => {
                out.insert("deletedCount", count(n));
            }
        }
        out
    }
}

/// Counts are Int32 when they fit (`{"$numberInt": "1"}` in canonical
/// EJSON), Int64 beyond.
fn count(n: u64) -> Bson {
    match i32::try_from(n) {
        Ok(small) => Bson::Int32(small),
        Err(_) => Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX)),
    }
}
