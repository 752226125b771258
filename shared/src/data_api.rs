//! A typed client for the MongoDB Atlas Data API v1, over any [`HttpSender`].
//!
//! Requests and responses use canonical Extended JSON (`application/ejson`),
//! so ObjectIds, dates and 64-bit integers round-trip exactly.

use bson::{doc, Bson, Document};
use http::{header, Method, Request, StatusCode};
use thiserror::Error;

use crate::ports::HttpSender;
use crate::ApiError;

const EJSON: &str = "application/ejson";

#[derive(Debug, Error)]
pub enum DataApiError {
    #[error("Data API unreachable (check setting data_api_url): {0}")]
    Unreachable(String),
    #[error("Data API refused the key (check setting data_api_key)")]
    Unauthorized,
    #[error("Data API rejected the request ({status}, {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    #[error("Data API answered something unreadable: {0}")]
    BadResponse(String),
}

impl From<DataApiError> for ApiError {
    fn from(err: DataApiError) -> Self {
        ApiError::StoreUnavailable {
            store: "documents",
            detail: err.to_string(),
        }
    }
}

/// Where the Data API lives and which cluster and database to use.
#[derive(Debug, Clone)]
pub struct DataApiConfig {
    /// Base URL up to, not including, `/action/...`.
    pub base_url: String,
    pub api_key: String,
    pub data_source: String,
    pub database: String,
}

/// Options of the `find` action.
#[derive(Debug, Clone, Default)]
pub struct FindOptions {
    pub filter: Document,
    pub projection: Option<Document>,
    pub sort: Option<Document>,
    pub limit: Option<i64>,
    pub skip: Option<i64>,
}

/// The counts `updateOne`, `updateMany` and `replaceOne` answer with.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateResult {
    pub matched: i64,
    pub modified: i64,
    pub upserted_id: Option<Bson>,
}

pub struct DataApi {
    http: Box<dyn HttpSender>,
    config: DataApiConfig,
}

impl DataApi {
    pub fn new(http: Box<dyn HttpSender>, config: DataApiConfig) -> Self {
        Self { http, config }
    }

    pub fn config(&self) -> &DataApiConfig {
        &self.config
    }

    pub fn find_one(
        &self,
        collection: &str,
        filter: Document,
        projection: Option<Document>,
    ) -> Result<Option<Document>, DataApiError> {
        let mut body = doc! { "filter": filter };
        if let Some(projection) = projection {
            body.insert("projection", projection);
        }
        let reply = self.action("findOne", collection, body)?;
        match reply.get("document") {
            Some(Bson::Document(document)) => Ok(Some(document.clone())),
            Some(Bson::Null) | None => Ok(None),
            Some(other) => Err(DataApiError::BadResponse(format!(
                "findOne document is {other}"
            ))),
        }
    }

    pub fn find(
        &self,
        collection: &str,
        options: FindOptions,
    ) -> Result<Vec<Document>, DataApiError> {
        let mut body = doc! { "filter": options.filter };
        if let Some(projection) = options.projection {
            body.insert("projection", projection);
        }
        if let Some(sort) = options.sort {
            body.insert("sort", sort);
        }
        if let Some(limit) = options.limit {
            body.insert("limit", limit);
        }
        if let Some(skip) = options.skip {
            body.insert("skip", skip);
        }
        documents(self.action("find", collection, body)?)
    }

    pub fn insert_one(&self, collection: &str, document: Document) -> Result<Bson, DataApiError> {
        let reply = self.action("insertOne", collection, doc! { "document": document })?;
        reply
            .get("insertedId")
            .cloned()
            .ok_or_else(|| DataApiError::BadResponse("insertOne without insertedId".into()))
    }

    pub fn insert_many(
        &self,
        collection: &str,
        documents: Vec<Document>,
    ) -> Result<Vec<Bson>, DataApiError> {
        let reply = self.action("insertMany", collection, doc! { "documents": documents })?;
        match reply.get("insertedIds") {
            Some(Bson::Array(ids)) => Ok(ids.clone()),
            _ => Err(DataApiError::BadResponse(
                "insertMany without insertedIds".into(),
            )),
        }
    }

    pub fn update_one(
        &self,
        collection: &str,
        filter: Document,
        update: Document,
        upsert: bool,
    ) -> Result<UpdateResult, DataApiError> {
        let body = doc! { "filter": filter, "update": update, "upsert": upsert };
        update_result(self.action("updateOne", collection, body)?)
    }

    pub fn update_many(
        &self,
        collection: &str,
        filter: Document,
        update: Document,
    ) -> Result<UpdateResult, DataApiError> {
        let body = doc! { "filter": filter, "update": update };
        update_result(self.action("updateMany", collection, body)?)
    }

    pub fn replace_one(
        &self,
        collection: &str,
        filter: Document,
        replacement: Document,
        upsert: bool,
    ) -> Result<UpdateResult, DataApiError> {
        let body = doc! { "filter": filter, "replacement": replacement, "upsert": upsert };
        update_result(self.action("replaceOne", collection, body)?)
    }

    pub fn delete_one(&self, collection: &str, filter: Document) -> Result<i64, DataApiError> {
        count(
            &self.action("deleteOne", collection, doc! { "filter": filter })?,
            "deletedCount",
        )
    }

    pub fn delete_many(&self, collection: &str, filter: Document) -> Result<i64, DataApiError> {
        count(
            &self.action("deleteMany", collection, doc! { "filter": filter })?,
            "deletedCount",
        )
    }

    pub fn aggregate(
        &self,
        collection: &str,
        pipeline: Vec<Document>,
    ) -> Result<Vec<Document>, DataApiError> {
        documents(self.action("aggregate", collection, doc! { "pipeline": pipeline })?)
    }

    /// Sends one action with the common fields and returns the reply document.
    fn action(
        &self,
        action: &str,
        collection: &str,
        fields: Document,
    ) -> Result<Document, DataApiError> {
        let mut body = doc! {
            "dataSource": &self.config.data_source,
            "database": &self.config.database,
            "collection": collection,
        };
        body.extend(fields);
        let json = Bson::Document(body).into_canonical_extjson();
        let url = format!(
            "{}/action/{action}",
            self.config.base_url.trim_end_matches('/')
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(header::CONTENT_TYPE, EJSON)
            .header(header::ACCEPT, EJSON)
            .header("apiKey", &self.config.api_key)
            .body(json.to_string().into_bytes())
            .map_err(|err| DataApiError::Unreachable(err.to_string()))?;

        let response = self
            .http
            .send(request)
            .map_err(|err| DataApiError::Unreachable(err.to_string()))?;
        let status = response.status();
        let value: serde_json::Value = serde_json::from_slice(response.body())
            .map_err(|err| DataApiError::BadResponse(format!("{status}: {err}")))?;

        if status == StatusCode::UNAUTHORIZED {
            return Err(DataApiError::Unauthorized);
        }
        if !status.is_success() {
            return Err(DataApiError::Rejected {
                status: status.as_u16(),
                code: value["error_code"].as_str().unwrap_or("unknown").to_owned(),
                message: value["error"].as_str().unwrap_or_default().to_owned(),
            });
        }
        match Bson::try_from(value) {
            Ok(Bson::Document(document)) => Ok(document),
            Ok(other) => Err(DataApiError::BadResponse(format!("reply is {other}"))),
            Err(err) => Err(DataApiError::BadResponse(err.to_string())),
        }
    }
}

fn documents(reply: Document) -> Result<Vec<Document>, DataApiError> {
    match reply.get("documents") {
        Some(Bson::Array(items)) => items
            .iter()
            .map(|item| match item {
                Bson::Document(document) => Ok(document.clone()),
                other => Err(DataApiError::BadResponse(format!("document is {other}"))),
            })
            .collect(),
        _ => Err(DataApiError::BadResponse("reply without documents".into())),
    }
}

fn update_result(reply: Document) -> Result<UpdateResult, DataApiError> {
    Ok(UpdateResult {
        matched: count(&reply, "matchedCount")?,
        modified: count(&reply, "modifiedCount")?,
        upserted_id: reply.get("upsertedId").cloned(),
    })
}

fn count(reply: &Document, field: &str) -> Result<i64, DataApiError> {
    match reply.get(field) {
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Double(n)) if n.fract() == 0.0 => Ok(*n as i64),
        _ => Err(DataApiError::BadResponse(format!("reply without {field}"))),
    }
}
