//! The embedded store: every collection lives in memory and in its log file
//! under `<data dir>/<database>/<collection>.log` (names percent-encoded).
//!
//! Concurrency: each collection has a writer mutex, held while a write
//! action plans its changes, appends them to the log and applies them in
//! memory, so concurrent writers are serialised and lose nothing. Readers
//! take an RwLock over the documents and only wait for the brief apply.
//!
//! Durability (group commit): a write is acknowledged only once an fsync
//! that started after its frame was written has finished. The fsync runs
//! outside the writer mutex, so while one is in flight the next writers
//! queue their frames and the next fsync covers them all. A reader may see
//! a change a moment before it is durable (like MongoDB's "local" read
//! concern); its writer is not answered until it is.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use bson::{Bson, Document};

use super::log::{self, Change, LogFile};
use super::value::ValueKey;
use crate::backend::Namespace;
use crate::error::ApiError;

/// Compact a log at start-up when it is this many times its live data...
const COMPACT_RATIO: u64 = 2;
/// ...and at least this big (small logs are not worth the rewrite).
const COMPACT_MIN_BYTES: u64 = 1 << 20;

pub struct Store {
    dir: PathBuf,
    collections: RwLock<HashMap<Namespace, Arc<Collection>>>,
    /// Held for the life of the store so two gateways never share a data dir.
    _lock: File,
}

pub struct Collection {
    /// The writer mutex; it owns the log's append handle.
    log: Mutex<LogFile>,
    docs: RwLock<Docs>,
    /// Frames appended so far (only changed under `log`).
    written: AtomicU64,
    /// How many of those frames an fsync has made durable; the mutex also
    /// makes writers queue behind an fsync in flight instead of starting
    /// one each.
    durable: Mutex<u64>,
    sync_file: File,
    /// Set when an fsync failed: memory may then hold changes the disk does
    /// not, so the collection takes no more writes until a restart.
    failed: AtomicBool,
}

/// Documents in insertion order, with an `_id` index.
#[derive(Default)]
pub struct Docs {
    by_seq: BTreeMap<u64, Document>,
    seq_by_id: HashMap<ValueKey, u64>,
    next_seq: u64,
}

impl Store {
    /// Opens (or creates) the data dir, replays every collection log and
    /// compacts the ones that have grown much larger than their data.
    pub fn open(dir: &Path) -> io::Result<Store> {
        fs::create_dir_all(dir)?;
        let lock = File::create(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            io::Error::other(format!(
                "{} is in use by another data-api process",
                dir.display()
            ))
        })?;

        let mut collections = HashMap::new();
        for db_entry in fs::read_dir(dir)? {
            let db_entry = db_entry?;
            if !db_entry.file_type()?.is_dir() {
                continue;
            }
            let Some(database) = decode_name(&db_entry.file_name().to_string_lossy()) else {
                continue;
            };
            for file in fs::read_dir(db_entry.path())? {
                let path = file?.path();
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.ends_with(".log.tmp") {
                    // Left by a compaction that crashed before its rename.
                    fs::remove_file(&path)?;
                    continue;
                }
                let Some(collection) = name.strip_suffix(".log").and_then(decode_name) else {
                    continue;
                };
                let ns = Namespace {
                    database: database.clone(),
                    collection,
                };
                let loaded = Collection::load(&path, &ns)?;
                collections.insert(ns, Arc::new(loaded));
            }
        }
        Ok(Store {
            dir: dir.to_owned(),
            collections: RwLock::new(collections),
            _lock: lock,
        })
    }

    pub fn collection_count(&self) -> usize {
        self.collections.read().map(|c| c.len()).unwrap_or(0)
    }

    /// The collection if it exists; reads of a missing one see no documents.
    pub fn get(&self, ns: &Namespace) -> Result<Option<Arc<Collection>>, ApiError> {
        Ok(self.collections.read().map_err(poisoned)?.get(ns).cloned())
    }

    /// The collection, created (with its log file) on first write.
    pub fn get_or_create(&self, ns: &Namespace) -> Result<Arc<Collection>, ApiError> {
        if let Some(existing) = self.get(ns)? {
            return Ok(existing);
        }
        let mut collections = self.collections.write().map_err(poisoned)?;
        if let Some(existing) = collections.get(ns) {
            return Ok(existing.clone());
        }
        let db_dir = self.dir.join(encode_name(&ns.database));
        fs::create_dir_all(&db_dir).map_err(ApiError::internal)?;
        let path = db_dir.join(format!("{}.log", encode_name(&ns.collection)));
        let log = LogFile::create(&path)
            .map_err(|e| ApiError::internal(format!("creating {}: {e}", path.display())))?;
        let created = Arc::new(Collection::new(log, Docs::default()).map_err(ApiError::internal)?);
        collections.insert(ns.clone(), created.clone());
        Ok(created)
    }
}

impl Collection {
    fn load(path: &Path, ns: &Namespace) -> io::Result<Collection> {
        let replay = log::replay(path)?;
        let mut docs = Docs::default();
        docs.apply(replay.changes);

        let live: u64 = docs.by_seq.values().map(|d| bson_len(d) + 13).sum();
        let log = if let Some(why) = &replay.torn {
            // Keep the damaged original for inspection before cutting it.
            let backup = PathBuf::from(format!("{}.damaged", path.display()));
            fs::copy(path, &backup)?;
            eprintln!(
                "data-api: {ns}: log ends in a damaged frame ({why}); kept {} and dropped the tail",
                backup.display()
            );
            LogFile::open_at(path, replay.valid_len)?
        } else if replay.valid_len > COMPACT_MIN_BYTES && replay.valid_len > COMPACT_RATIO * live {
            let compacted = log::rewrite(path, docs.by_seq.values())?;
            eprintln!(
                "data-api: {ns}: compacted log from {} to {} bytes",
                replay.valid_len,
                compacted.size()
            );
            compacted
        } else {
            LogFile::open_at(path, replay.valid_len)?
        };
        Collection::new(log, docs)
    }

    fn new(log: LogFile, docs: Docs) -> io::Result<Collection> {
        Ok(Collection {
            sync_file: log.sync_handle()?,
            log: Mutex::new(log),
            docs: RwLock::new(docs),
            written: AtomicU64::new(0),
            durable: Mutex::new(0),
            failed: AtomicBool::new(false),
        })
    }

    pub fn read(&self) -> Result<RwLockReadGuard<'_, Docs>, ApiError> {
        self.docs.read().map_err(poisoned)
    }

    /// Runs one write action atomically: `plan` sees the current documents
    /// and returns the changes and the reply; the changes are appended to
    /// the log as one frame, applied in memory, and the reply is returned
    /// once that frame is durable.
    pub fn write<R>(
        &self,
        plan: impl FnOnce(&Docs) -> Result<(Vec<Change>, R), ApiError>,
    ) -> Result<R, ApiError> {
        let (reply, frame) = {
            let mut log = self.log.lock().map_err(poisoned)?;
            self.check_not_failed()?;
            let (changes, reply) = plan(&*self.read()?)?;
            if !changes.is_empty() {
                log.append(&changes)
                    .map_err(|e| ApiError::internal(format!("writing the log: {e}")))?;
                self.docs.write().map_err(poisoned)?.apply(changes);
                self.written.fetch_add(1, Ordering::SeqCst);
            }
            // Even a write that changed nothing answers from state that
            // earlier writers may not have made durable yet: wait for them.
            (reply, self.written.load(Ordering::SeqCst))
        };
        self.wait_durable(frame)?;
        Ok(reply)
    }

    /// Returns once frame number `frame` is on disk, fsyncing if no fsync
    /// in flight or finished already covers it.
    fn wait_durable(&self, frame: u64) -> Result<(), ApiError> {
        let mut durable = self.durable.lock().map_err(poisoned)?;
        if *durable >= frame {
            return Ok(());
        }
        self.check_not_failed()?;
        // Every frame counted in `written` is already in the file.
        let target = self.written.load(Ordering::SeqCst);
        match self.sync_file.sync_data() {
            Ok(()) => {
                *durable = target;
                Ok(())
            }
            Err(e) => {
                self.failed.store(true, Ordering::SeqCst);
                Err(ApiError::internal(format!("fsync of the log failed: {e}")))
            }
        }
    }

    fn check_not_failed(&self) -> Result<(), ApiError> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(ApiError::internal(
                "this collection takes no writes after an fsync failure; restart the gateway",
            ));
        }
        Ok(())
    }
}

impl Docs {
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Document> {
        self.by_seq.values()
    }

    pub fn get_by_id(&self, id: &Bson) -> Option<&Document> {
        let seq = self.seq_by_id.get(&ValueKey::of(id))?;
        self.by_seq.get(seq)
    }

    pub fn contains_id(&self, id: &Bson) -> bool {
        self.seq_by_id.contains_key(&ValueKey::of(id))
    }

    /// A replaced document keeps its place in the natural order.
    fn apply(&mut self, changes: Vec<Change>) {
        for change in changes {
            match change {
                Change::Put(doc) => {
                    let key = ValueKey::of(doc.get("_id").unwrap_or(&Bson::Null));
                    let seq = *self.seq_by_id.entry(key).or_insert_with(|| {
                        self.next_seq += 1;
                        self.next_seq
                    });
                    self.by_seq.insert(seq, doc);
                }
                Change::Delete(id) => {
                    if let Some(seq) = self.seq_by_id.remove(&ValueKey::of(&id)) {
                        self.by_seq.remove(&seq);
                    }
                }
            }
        }
    }
}

fn bson_len(doc: &Document) -> u64 {
    let mut buf = Vec::new();
    doc.to_writer(&mut buf)
        .map(|()| buf.len() as u64)
        .unwrap_or(0)
}

fn poisoned<T>(_: T) -> ApiError {
    ApiError::internal("a collection lock is poisoned after an earlier panic; restart the gateway")
}

/// Database and collection names become file names: bytes outside
/// `[A-Za-z0-9_-]` are written as `%XX`, so no name can escape the data dir.
pub fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn decode_name(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn names_round_trip_and_stay_inside_the_dir() {
        for name in ["appointments", "a.b", "../etc", "día", "x%y"] {
            let encoded = encode_name(name);
            assert!(
                !encoded.contains('/') && !encoded.contains('.'),
                "{encoded}"
            );
            assert_eq!(decode_name(&encoded).as_deref(), Some(name));
        }
    }

    #[test]
    fn writes_survive_reopening_and_logs_get_compacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ns = Namespace {
            database: "clinic".into(),
            collection: "doctors".into(),
        };
        {
            let store = Store::open(dir.path()).expect("open");
            let coll = store.get_or_create(&ns).expect("create");
            let big = "x".repeat(10_000);
            for i in 0..300 {
                coll.write(|_| {
                    Ok((
                        vec![Change::Put(doc! { "_id": 1, "n": i, "pad": big.as_str() })],
                        (),
                    ))
                })
                .expect("write");
            }
            coll.write(|_| Ok((vec![Change::Put(doc! { "_id": 2 })], ())))
                .expect("write");
            coll.write(|_| Ok((vec![Change::Delete(Bson::Int32(2))], ())))
                .expect("write");
            assert!(
                Store::open(dir.path()).is_err(),
                "a second store on the same dir must be refused"
            );
        }
        let log_path = dir.path().join("clinic").join("doctors.log");
        let before = fs::metadata(&log_path).expect("meta").len();
        let store = Store::open(dir.path()).expect("reopen");
        let after = fs::metadata(&log_path).expect("meta").len();
        assert!(
            after * 10 < before,
            "compaction should shrink {before} -> {after}"
        );
        let coll = store.get(&ns).expect("get").expect("exists");
        let docs = coll.read().expect("read");
        assert_eq!(docs.len(), 1);
        assert_eq!(
            docs.get_by_id(&Bson::Int64(1))
                .and_then(|d| d.get_i32("n").ok()),
            Some(299)
        );
    }
}
