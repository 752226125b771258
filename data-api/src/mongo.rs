//! The MongoDB backend (cargo feature `mongodb`): each action maps onto the
//! official driver's call of the same name, so filters, updates and
//! pipelines get MongoDB's full semantics rather than the embedded subset.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::{Client, Collection, Database, IndexModel};

use crate::backend::{Action, Backend, BoxFuture, Namespace, Reply};
use crate::error::ApiError;

const DUPLICATE_KEY: i32 = 11000;

pub struct MongoBackend {
    client: Client,
}

impl MongoBackend {
    /// Connects, checks the deployment answers, and ensures the indexes the
    /// clinic's flows query by.
    pub async fn connect(uri: &str, index_database: &str) -> mongodb::error::Result<MongoBackend> {
        let client = Client::with_uri_str(uri).await?;
        client
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await?;
        ensure_indexes(&client.database(index_database)).await?;
        Ok(MongoBackend { client })
    }

    fn collection(&self, ns: &Namespace) -> Collection<Document> {
        self.client
            .database(&ns.database)
            .collection(&ns.collection)
    }
}

/// `appointments` by doctor and start time (a doctor's agenda), `doctors` by
/// specialty. createIndex is a no-op when the index already exists.
async fn ensure_indexes(db: &Database) -> mongodb::error::Result<()> {
    let appointments = IndexModel::builder()
        .keys(doc! { "doctorId": 1, "start": 1 })
        .build();
    db.collection::<Document>("appointments")
        .create_index(appointments)
        .await?;
    let doctors = IndexModel::builder().keys(doc! { "specialty": 1 }).build();
    db.collection::<Document>("doctors")
        .create_index(doctors)
        .await?;
    Ok(())
}

impl Backend for MongoBackend {
    fn execute(&self, ns: Namespace, action: Action) -> BoxFuture<'_, Result<Reply, ApiError>> {
        let coll = self.collection(&ns);
        Box::pin(async move { run(&coll, action).await.map_err(map_error) })
    }

    fn describe(&self) -> String {
        "MongoDB".to_owned()
    }
}

async fn run(coll: &Collection<Document>, action: Action) -> mongodb::error::Result<Reply> {
    Ok(match action {
        Action::FindOne(args) => {
            let found = coll
                .find_one(args.filter)
                .optional(args.projection, |q, p| q.projection(p))
                .optional(args.sort, |q, s| q.sort(s))
                .await?;
            Reply::Document(found)
        }
        Action::Find(args) => {
            let cursor = coll
                .find(args.filter)
                .optional(args.projection, |q, p| q.projection(p))
                .optional(args.sort, |q, s| q.sort(s))
                .skip(args.skip)
                .limit(i64::try_from(args.limit).unwrap_or(i64::MAX))
                .await?;
            Reply::Documents(cursor.try_collect().await?)
        }
        Action::InsertOne { document } => {
            Reply::InsertedId(coll.insert_one(document).await?.inserted_id)
        }
        Action::InsertMany { documents } => {
            let count = documents.len();
            let mut ids = coll.insert_many(documents).await?.inserted_ids;
            Reply::InsertedIds(
                (0..count)
                    .map(|i| ids.remove(&i).unwrap_or(Bson::Null))
                    .collect(),
            )
        }
        Action::UpdateOne(args) => updated(
            coll.update_one(args.filter, args.update)
                .upsert(args.upsert)
                .await?,
        ),
        Action::UpdateMany(args) => updated(
            coll.update_many(args.filter, args.update)
                .upsert(args.upsert)
                .await?,
        ),
        Action::ReplaceOne {
            filter,
            replacement,
            upsert,
        } => updated(coll.replace_one(filter, replacement).upsert(upsert).await?),
        Action::DeleteOne { filter } => {
            Reply::Deleted(coll.delete_one(filter).await?.deleted_count)
        }
        Action::DeleteMany { filter } => {
            Reply::Deleted(coll.delete_many(filter).await?.deleted_count)
        }
        Action::Aggregate { pipeline } => {
            Reply::Documents(coll.aggregate(pipeline).await?.try_collect().await?)
        }
    })
}

fn updated(result: mongodb::results::UpdateResult) -> Reply {
    Reply::Updated {
        matched: result.matched_count,
        modified: result.modified_count,
        upserted_id: result.upserted_id,
    }
}

/// Applies a builder option only when the request gave it.
trait Optional: Sized {
    fn optional<T>(self, value: Option<T>, apply: impl FnOnce(Self, T) -> Self) -> Self {
        match value {
            Some(v) => apply(self, v),
            None => self,
        }
    }
}

impl<T> Optional for T {}

/// What MongoDB said about the request becomes a 400 (or 409 for a
/// duplicate `_id`); an unreachable deployment is a 503.
fn map_error(err: mongodb::error::Error) -> ApiError {
    let message = err.to_string();
    match *err.kind {
        ErrorKind::Write(WriteFailure::WriteError(ref e)) if e.code == DUPLICATE_KEY => {
            ApiError::DuplicateKey(e.message.clone())
        }
        ErrorKind::Command(ref e) if e.code == DUPLICATE_KEY => {
            ApiError::DuplicateKey(e.message.clone())
        }
        ErrorKind::InsertMany(ref e)
            if e.write_errors
                .iter()
                .flatten()
                .any(|w| w.code == DUPLICATE_KEY) =>
        {
            ApiError::DuplicateKey(message)
        }
        _ if err.contains_label("RetryableWriteError") => ApiError::Unavailable(message),
        ErrorKind::Write(WriteFailure::WriteError(ref e)) => {
            ApiError::cannot_apply(e.message.clone())
        }
        ErrorKind::Command(ref e) => {
            ApiError::cannot_apply(format!("{} ({})", e.message, e.code_name))
        }
        ErrorKind::InsertMany(_)
        | ErrorKind::BsonSerialization(_)
        | ErrorKind::InvalidArgument { .. } => ApiError::invalid(message),
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => ApiError::Unavailable(message),
        _ => ApiError::internal(message),
    }
}
