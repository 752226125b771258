//! Projections for `find`/`findOne` and the `$project` stage: inclusion or
//! exclusion of (dotted) fields, `_id` kept unless excluded, and for
//! `$project` also computed fields (`"$other.field"`, literals).

use bson::{Bson, Document};

use super::expr::Expr;
use super::matcher::truthy;
use super::value::split_path;
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Projection {
    mode: Mode,
    id: IdRule,
    /// Every path except the top-level `_id`, as a tree in spec order.
    fields: Branch,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Include,
    Exclude,
}

#[derive(Debug, Clone)]
enum IdRule {
    Keep,
    Drop,
    Computed(Expr),
}

type Branch = Vec<(String, Node)>;

#[derive(Debug, Clone)]
enum Node {
    Leaf,
    Computed(Expr),
    Branch(Branch),
}

impl Projection {
    /// `allow_expressions` is true for `$project`, false for `find`, whose
    /// projection only takes 0/1/true/false.
    pub fn parse(spec: &Document, allow_expressions: bool) -> Result<Projection, ApiError> {
        let mut entries = Vec::new();
        flatten(spec, String::new(), allow_expressions, &mut entries)?;
        if entries.is_empty() {
            return Err(ApiError::invalid("projection must name at least one field"));
        }

        let mut id = IdRule::Keep;
        let mut fields = Branch::new();
        let (mut includes, mut excludes) = (false, false);
        for (path, entry) in entries {
            if path == "_id" {
                id = match entry {
                    Entry::Flag(true) => IdRule::Keep,
                    Entry::Flag(false) => IdRule::Drop,
                    Entry::Computed(expr) => {
                        includes = true;
                        IdRule::Computed(expr)
                    }
                };
                continue;
            }
            let node = match entry {
                Entry::Flag(true) => {
                    includes = true;
                    Node::Leaf
                }
                Entry::Flag(false) => {
                    excludes = true;
                    Node::Leaf
                }
                Entry::Computed(expr) => {
                    includes = true;
                    Node::Computed(expr)
                }
            };
            let parts = split_path(&path).ok_or_else(|| {
                ApiError::invalid(format!("invalid field path '{path}' in projection"))
            })?;
            insert(&mut fields, &parts, node, &path)?;
        }
        if includes && excludes {
            return Err(ApiError::invalid(
                "projection cannot mix inclusion and exclusion (only _id may be excluded in an inclusion projection)",
            ));
        }
        // `{_id: 0}` alone is an exclusion; `{_id: 1}` alone keeps only _id.
        let mode = if includes || (!excludes && matches!(id, IdRule::Keep)) {
            Mode::Include
        } else {
            Mode::Exclude
        };
        Ok(Projection { mode, id, fields })
    }

    pub fn apply(&self, doc: &Document) -> Document {
        match self.mode {
            Mode::Include => {
                let mut out = Document::new();
                match &self.id {
                    IdRule::Keep => {
                        if let Some(id) = doc.get("_id") {
                            out.insert("_id", id.clone());
                        }
                    }
                    IdRule::Computed(expr) => {
                        if let Some(value) = expr.eval(doc) {
                            out.insert("_id", value);
                        }
                    }
                    IdRule::Drop => {}
                }
                include(doc, &self.fields, doc, true, &mut out);
                out
            }
            Mode::Exclude => {
                let mut out = doc.clone();
                if matches!(self.id, IdRule::Drop) {
                    out.remove("_id");
                }
                exclude(&mut out, &self.fields);
                out
            }
        }
    }
}

enum Entry {
    Flag(bool),
    Computed(Expr),
}

/// Turns `{a: {b: 1}}` into `("a.b", 1)` and classifies each value.
fn flatten(
    spec: &Document,
    prefix: String,
    allow_expressions: bool,
    out: &mut Vec<(String, Entry)>,
) -> Result<(), ApiError> {
    for (key, value) in spec {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if let Some(flag) = truthy(value) {
            out.push((path, Entry::Flag(flag)));
            continue;
        }
        match value {
            Bson::Document(sub)
                if !sub.keys().next().is_some_and(|k| k.starts_with('$')) && !sub.is_empty() =>
            {
                flatten(sub, path, allow_expressions, out)?;
            }
            _ if allow_expressions => out.push((path, Entry::Computed(Expr::parse(value)?))),
            Bson::Document(sub) => {
                let op = sub.keys().next().map(String::as_str).unwrap_or("{}");
                return Err(ApiError::unsupported("projection operator", op));
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "projection value for '{path}' must be 0, 1, true or false"
                )))
            }
        }
    }
    Ok(())
}

fn insert(branch: &mut Branch, parts: &[&str], node: Node, full: &str) -> Result<(), ApiError> {
    let collision = || ApiError::invalid(format!("path collision at '{full}' in projection"));
    let Some((first, rest)) = parts.split_first() else {
        return Err(collision());
    };
    let position = branch.iter().position(|(k, _)| k == first);
    if rest.is_empty() {
        return match position {
            Some(_) => Err(collision()),
            None => {
                branch.push(((*first).to_owned(), node));
                Ok(())
            }
        };
    }
    let index = match position {
        Some(i) => i,
        None => {
            branch.push(((*first).to_owned(), Node::Branch(Branch::new())));
            branch.len() - 1
        }
    };
    match branch.get_mut(index) {
        Some((_, Node::Branch(sub))) => insert(sub, rest, node, full),
        _ => Err(collision()),
    }
}

/// Copies included fields in document order, then adds computed fields.
fn include(doc: &Document, branch: &Branch, root: &Document, top_level: bool, out: &mut Document) {
    for (key, value) in doc {
        if top_level && key == "_id" {
            continue; // the top-level _id follows its own rule
        }
        match branch.iter().find(|(k, _)| k == key).map(|(_, node)| node) {
            Some(Node::Leaf) => {
                out.insert(key.clone(), value.clone());
            }
            Some(Node::Branch(sub)) => match value {
                Bson::Document(inner) => {
                    let mut projected = Document::new();
                    include(inner, sub, root, false, &mut projected);
                    out.insert(key.clone(), projected);
                }
                Bson::Array(items) => {
                    let projected: Vec<Bson> = items
                        .iter()
                        .filter_map(|item| match item {
                            Bson::Document(inner) => {
                                let mut projected = Document::new();
                                include(inner, sub, root, false, &mut projected);
                                Some(Bson::Document(projected))
                            }
                            _ => None,
                        })
                        .collect();
                    out.insert(key.clone(), projected);
                }
                _ => {}
            },
            Some(Node::Computed(_)) | None => {}
        }
    }
    for (key, node) in branch {
        match node {
            Node::Computed(expr) => {
                if let Some(value) = expr.eval(root) {
                    out.insert(key.clone(), value);
                }
            }
            Node::Branch(sub) if !doc.contains_key(key) && has_computed(sub) => {
                let mut built = Document::new();
                include(&Document::new(), sub, root, false, &mut built);
                out.insert(key.clone(), built);
            }
            _ => {}
        }
    }
}

fn has_computed(branch: &Branch) -> bool {
    branch.iter().any(|(_, node)| match node {
        Node::Computed(_) => true,
        Node::Branch(sub) => has_computed(sub),
        Node::Leaf => false,
    })
}

fn exclude(doc: &mut Document, branch: &Branch) {
    for (key, node) in branch {
        match node {
            Node::Leaf | Node::Computed(_) => {
                doc.remove(key);
            }
            Node::Branch(sub) => match doc.get_mut(key) {
                Some(Bson::Document(inner)) => exclude(inner, sub),
                Some(Bson::Array(items)) => {
                    for item in items {
                        if let Bson::Document(inner) = item {
                            exclude(inner, sub);
                        }
                    }
                }
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn project(spec: Document, doc: Document) -> Document {
        Projection::parse(&spec, true)
            .expect("valid projection")
            .apply(&doc)
    }

    #[test]
    fn inclusion_keeps_id_unless_excluded() {
        let d = doc! { "_id": 1, "a": 1, "b": { "c": 2, "d": 3 }, "e": 4 };
        assert_eq!(
            project(doc! { "a": 1, "b.c": 1 }, d.clone()),
            doc! { "_id": 1, "a": 1, "b": { "c": 2 } }
        );
        assert_eq!(
            project(doc! { "a": 1, "_id": 0 }, d.clone()),
            doc! { "a": 1 }
        );
        assert_eq!(project(doc! { "_id": 1 }, d), doc! { "_id": 1 });
    }

    #[test]
    fn exclusion_removes_fields() {
        let d = doc! { "_id": 1, "a": 1, "b": { "c": 2, "d": 3 } };
        assert_eq!(
            project(doc! { "b.c": 0, "_id": 0 }, d.clone()),
            doc! { "a": 1, "b": { "d": 3 } }
        );
        assert_eq!(
            project(doc! { "_id": 0 }, d),
            doc! { "a": 1, "b": { "c": 2, "d": 3 } }
        );
    }

    #[test]
    fn computed_fields_for_project() {
        let d = doc! { "_id": 1, "name": { "first": "Ana" }, "n": 2 };
        assert_eq!(
            project(
                doc! { "_id": 0, "first": "$name.first", "n": 1, "k": { "$literal": 1 } },
                d
            ),
            doc! { "n": 2, "first": "Ana", "k": 1 }
        );
    }

    #[test]
    fn refusals() {
        assert!(Projection::parse(&doc! { "a": 1, "b": 0 }, false).is_err());
        assert!(Projection::parse(&doc! { "a": 1, "a.b": 1 }, false).is_err());
        let err = Projection::parse(&doc! { "a": { "$slice": 1 } }, false).expect_err("operator");
        assert!(err.to_string().contains("$slice"));
        let err =
            Projection::parse(&doc! { "a": { "$concat": ["x"] } }, true).expect_err("operator");
        assert!(err.to_string().contains("$concat"));
        assert!(Projection::parse(&doc! { "a": "$b" }, false).is_err());
    }
}
