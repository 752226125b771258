//! From a request body (already EJSON-decoded into a BSON document) to a
//! typed [`Action`]: required fields, field types, defaults, and names.
//! Unknown fields are refused so a typo never silently changes a query.

use bson::{Bson, Document};

use crate::backend::{Action, FindArgs, Namespace, UpdateArgs};
use crate::error::ApiError;

/// `find` returns at most this many documents when the request sets no
/// limit (or limit 0).
pub const DEFAULT_FIND_LIMIT: u64 = 1000;
/// The largest `limit` a `find` may ask for: bounds one response's size.
pub const MAX_FIND_LIMIT: u64 = 50_000;

pub const ACTIONS: [&str; 10] = [
    "findOne",
    "find",
    "insertOne",
    "insertMany",
    "updateOne",
    "updateMany",
    "replaceOne",
    "deleteOne",
    "deleteMany",
    "aggregate",
];

pub fn is_action(name: &str) -> bool {
    ACTIONS.contains(&name)
}

/// Parses the body of `POST .../action/{action}`.
pub fn parse(action: &str, body: Document) -> Result<(Namespace, Action), ApiError> {
    let mut body = Fields { action, doc: body };
    body.required_str("dataSource")?; // one data source per gateway: checked, not used
    let ns = Namespace {
        database: valid_database(body.required_str("database")?)?,
        collection: valid_collection(body.required_str("collection")?)?,
    };
    let parsed = match action {
        "findOne" => Action::FindOne(FindArgs {
            filter: body.optional_doc("filter")?.unwrap_or_default(),
            projection: body.optional_doc("projection")?,
            // Not in the v1 findOne spec, but harmless and handy: honoured.
            sort: body.optional_doc("sort")?,
            skip: 0,
            limit: 1,
        }),
        "find" => {
            let limit = match body.optional_count("limit")? {
                None | Some(0) => DEFAULT_FIND_LIMIT,
                Some(n) if n > MAX_FIND_LIMIT => {
                    return Err(ApiError::invalid(format!(
                        "limit may be at most {MAX_FIND_LIMIT}"
                    )))
                }
                Some(n) => n,
            };
            Action::Find(FindArgs {
                filter: body.optional_doc("filter")?.unwrap_or_default(),
                projection: body.optional_doc("projection")?,
                sort: body.optional_doc("sort")?,
                skip: body.optional_count("skip")?.unwrap_or(0),
                limit,
            })
        }
        "insertOne" => Action::InsertOne {
            document: body.required_doc("document")?,
        },
        "insertMany" => {
            let documents = body.required_doc_list("documents")?;
            if documents.is_empty() {
                return Err(ApiError::invalid("documents must be a non-empty array"));
            }
            Action::InsertMany { documents }
        }
        "updateOne" | "updateMany" => {
            let args = UpdateArgs {
                filter: body.optional_doc("filter")?.unwrap_or_default(),
                update: body.required_update("update")?,
                upsert: body.optional_bool("upsert")?.unwrap_or(false),
            };
            if action == "updateOne" {
                Action::UpdateOne(args)
            } else {
                Action::UpdateMany(args)
            }
        }
        "replaceOne" => Action::ReplaceOne {
            filter: body.optional_doc("filter")?.unwrap_or_default(),
            replacement: body.required_doc("replacement")?,
            upsert: body.optional_bool("upsert")?.unwrap_or(false),
        },
        "deleteOne" => Action::DeleteOne {
            filter: body.optional_doc("filter")?.unwrap_or_default(),
        },
        "deleteMany" => Action::DeleteMany {
            filter: body.optional_doc("filter")?.unwrap_or_default(),
        },
        "aggregate" => Action::Aggregate {
            pipeline: body.required_doc_list("pipeline")?,
        },
        other => return Err(ApiError::UnknownAction(other.to_owned())),
    };
    body.finish()?;
    Ok((ns, parsed))
}

/// The body's fields, taken out one by one; whatever is left is unknown.
struct Fields<'a> {
    action: &'a str,
    doc: Document,
}

impl Fields<'_> {
    fn take(&mut self, name: &str) -> Option<Bson> {
        self.doc.remove(name)
    }

    fn required_str(&mut self, name: &'static str) -> Result<String, ApiError> {
        match self.take(name) {
            Some(Bson::String(s)) if !s.is_empty() => Ok(s),
            Some(Bson::String(_)) => Err(ApiError::invalid(format!("'{name}' must not be empty"))),
            Some(_) => Err(ApiError::invalid(format!("'{name}' must be a string"))),
            None => Err(ApiError::MissingParameter(name)),
        }
    }

    fn optional_doc(&mut self, name: &str) -> Result<Option<Document>, ApiError> {
        match self.take(name) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Document(doc)) => Ok(Some(doc)),
            Some(_) => Err(ApiError::invalid(format!("'{name}' must be a document"))),
        }
    }

    fn required_doc(&mut self, name: &'static str) -> Result<Document, ApiError> {
        self.optional_doc(name)?
            .ok_or(ApiError::MissingParameter(name))
    }

    /// An update must be a document of operators; the array (pipeline) form
    /// is refused by name.
    fn required_update(&mut self, name: &'static str) -> Result<Document, ApiError> {
        match self.take(name) {
            Some(Bson::Document(doc)) => Ok(doc),
            Some(Bson::Array(_)) => Err(ApiError::unsupported(
                "update form",
                "aggregation pipeline update",
            )),
            Some(_) => Err(ApiError::invalid(format!("'{name}' must be a document"))),
            None => Err(ApiError::MissingParameter(name)),
        }
    }

    fn required_doc_list(&mut self, name: &'static str) -> Result<Vec<Document>, ApiError> {
        match self.take(name) {
            Some(Bson::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Bson::Document(doc) => Ok(doc),
                    _ => Err(ApiError::invalid(format!(
                        "every entry of '{name}' must be a document"
                    ))),
                })
                .collect(),
            Some(_) => Err(ApiError::invalid(format!(
                "'{name}' must be an array of documents"
            ))),
            None => Err(ApiError::MissingParameter(name)),
        }
    }

    fn optional_bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.take(name) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Boolean(b)) => Ok(Some(b)),
            Some(_) => Err(ApiError::invalid(format!("'{name}' must be true or false"))),
        }
    }

    /// A non-negative integer given as any numeric type (`10`, `10.0`,
    /// `{"$numberLong": "10"}`).
    fn optional_count(&mut self, name: &str) -> Result<Option<u64>, ApiError> {
        let bad = || ApiError::invalid(format!("'{name}' must be a non-negative integer"));
        match self.take(name) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Int32(i)) => u64::try_from(i).map(Some).map_err(|_| bad()),
            Some(Bson::Int64(i)) => u64::try_from(i).map(Some).map_err(|_| bad()),
            Some(Bson::Double(f)) if f.fract() == 0.0 && (0.0..9.0e15).contains(&f) => {
                Ok(Some(f as u64))
            }
            Some(_) => Err(bad()),
        }
    }

    fn finish(self) -> Result<(), ApiError> {
        match self.doc.keys().next() {
            Some(unknown) => Err(ApiError::invalid(format!(
                "unknown field '{unknown}' for action {}",
                self.action
            ))),
            None => Ok(()),
        }
    }
}

/// MongoDB's database name rules, which also keep names safe as directories.
fn valid_database(name: String) -> Result<String, ApiError> {
    let forbidden = [
        '/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?', '\0',
    ];
    if name.len() > 64 || name.contains(forbidden) {
        return Err(ApiError::invalid(format!(
            "invalid database name '{name}': at most 64 bytes, none of / \\ . space \" $ * < > : | ?"
        )));
    }
    Ok(name)
}

fn valid_collection(name: String) -> Result<String, ApiError> {
    if name.len() > 255 || name.contains(['$', '\0']) || name.starts_with("system.") {
        return Err(ApiError::invalid(format!(
            "invalid collection name '{name}': at most 255 bytes, no '$', not starting with 'system.'"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn base() -> Document {
        doc! { "dataSource": "mongodb-atlas", "database": "todo", "collection": "tasks" }
    }

    #[test]
    fn find_defaults_and_counts() {
        let mut body = base();
        body.insert("filter", doc! { "status": "complete" });
        body.insert("skip", 2.0);
        let (ns, action) = parse("find", body).expect("valid");
        assert_eq!(ns.to_string(), "todo.tasks");
        let Action::Find(args) = action else {
            panic!("find")
        };
        assert_eq!((args.skip, args.limit), (2, DEFAULT_FIND_LIMIT));
    }

    #[test]
    fn refusals() {
        let mut missing = base();
        missing.remove("collection");
        assert!(matches!(
            parse("find", missing),
            Err(ApiError::MissingParameter("collection"))
        ));

        let mut typo = base();
        typo.insert("filtre", doc! {});
        let err = parse("find", typo).expect_err("unknown field");
        assert!(err.to_string().contains("filtre"));

        let mut negative = base();
        negative.insert("limit", -1);
        assert!(parse("find", negative).is_err());

        let mut bad_db = base();
        bad_db.insert("database", "../etc");
        assert!(parse("find", bad_db).is_err());

        assert!(matches!(
            parse("dropDatabase", base()),
            Err(ApiError::UnknownAction(_))
        ));
    }
}
