//! The on-disk format: one append-only log file per collection.
//!
//! ```text
//! file   = "DAPILOG1" frame*
//! frame  = payload_len:u32le crc32(payload):u32le payload
//! payload= (op:u8 bson_document)*        op 1 = put whole document
//!                                         op 2 = delete; document is {_id: v}
//! ```
//!
//! One write action is one frame, written with one `write_all` and fsync'd
//! before the action is acknowledged (one fsync may cover the frames of
//! several concurrent actions: see `store.rs`). On replay a frame that is truncated or
//! fails its checksum ends the log (a crash mid-write), so an action is either
//! wholly in the log or not at all.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bson::{Bson, Document};

pub const MAGIC: &[u8; 8] = b"DAPILOG1";
const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;
const FRAME_HEADER: usize = 8;

/// A change to one document, as logged and as applied in memory.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Put(Document),
    Delete(Bson),
}

/// An open log, positioned at its end.
#[derive(Debug)]
pub struct LogFile {
    file: File,
    path: PathBuf,
    /// Length of the valid log; a failed append is cut back to it.
    len: u64,
    /// Set when a failed append could not be undone: further appends would
    /// land after garbage that replay stops at, so they are refused.
    broken: bool,
}

/// What replaying a log found.
pub struct Replay {
    pub changes: Vec<Change>,
    /// Bytes of valid log (header and whole frames).
    pub valid_len: u64,
    /// Why replay stopped before the end of the file, if it did.
    pub torn: Option<String>,
}

impl LogFile {
    /// Creates a new, empty log (fsyncing the file and its directory so the
    /// file itself survives a crash).
    pub fn create(path: &Path) -> io::Result<LogFile> {
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)?;
        file.write_all(MAGIC)?;
        file.sync_all()?;
        sync_dir(path)?;
        Ok(LogFile {
            file,
            path: path.to_owned(),
            len: MAGIC.len() as u64,
            broken: false,
        })
    }

    /// Opens an existing log for appending after `valid_len` bytes, cutting
    /// off a torn tail.
    pub fn open_at(path: &Path, valid_len: u64) -> io::Result<LogFile> {
        let file = OpenOptions::new().append(true).open(path)?;
        if file.metadata()?.len() != valid_len {
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        Ok(LogFile {
            file,
            path: path.to_owned(),
            len: valid_len,
            broken: false,
        })
    }

    /// Bytes of valid log on disk.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Appends one frame, without fsync (see [`LogFile::sync_handle`]). On
    /// failure the file is cut back so the log stays replayable.
    pub fn append(&mut self, changes: &[Change]) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(format!(
                "log {} is unusable after an earlier write failure; restart the gateway",
                self.path.display()
            )));
        }
        let frame = encode_frame(changes)?;
        match self.file.write_all(&frame) {
            Ok(()) => {
                self.len += frame.len() as u64;
                Ok(())
            }
            Err(err) => {
                if self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_all())
                    .is_err()
                {
                    self.broken = true;
                }
                Err(err)
            }
        }
    }

    /// A second handle on the same file, so one thread can fsync while
    /// another appends.
    pub fn sync_handle(&self) -> io::Result<File> {
        self.file.try_clone()
    }
}

pub fn encode_frame(changes: &[Change]) -> io::Result<Vec<u8>> {
    let mut payload = Vec::new();
    for change in changes {
        match change {
            Change::Put(doc) => {
                payload.push(OP_PUT);
                doc.to_writer(&mut payload).map_err(io::Error::other)?;
            }
            Change::Delete(id) => {
                payload.push(OP_DELETE);
                let mut key = Document::new();
                key.insert("_id", id.clone());
                key.to_writer(&mut payload).map_err(io::Error::other)?;
            }
        }
    }
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::other("write action too large for one log frame"))?;
    let mut frame = Vec::with_capacity(FRAME_HEADER + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Reads a whole log. A file that does not start with the magic is an
/// error (not ours, or a newer format); a bad frame ends the replay.
pub fn replay(path: &Path) -> io::Result<Replay> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a data-api log (bad header)", path.display()),
        ));
    }
    let mut changes = Vec::new();
    let mut pos = MAGIC.len();
    let mut torn = None;
    while pos < bytes.len() {
        match decode_frame(&bytes[pos..]) {
            Ok((frame_changes, used)) => {
                changes.extend(frame_changes);
                pos += used;
            }
            Err(why) => {
                torn = Some(format!("{why} at byte {pos} of {} bytes", bytes.len()));
                break;
            }
        }
    }
    Ok(Replay {
        changes,
        valid_len: pos as u64,
        torn,
    })
}

fn decode_frame(bytes: &[u8]) -> Result<(Vec<Change>, usize), &'static str> {
    let header = bytes.get(..FRAME_HEADER).ok_or("truncated frame header")?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let payload = bytes
        .get(FRAME_HEADER..FRAME_HEADER + len)
        .ok_or("truncated frame")?;
    if crc32fast::hash(payload) != crc {
        return Err("frame checksum mismatch");
    }
    let mut changes = Vec::new();
    let mut rest = payload;
    while let Some((&op, after_op)) = rest.split_first() {
        let doc_len = after_op
            .get(..4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("bad document length")?;
        let doc_bytes = after_op.get(..doc_len).ok_or("document overruns frame")?;
        let doc = Document::from_reader(doc_bytes).map_err(|_| "undecodable document")?;
        changes.push(match op {
            OP_PUT => Change::Put(doc),
            OP_DELETE => Change::Delete(doc.get("_id").cloned().ok_or("delete without _id")?),
            _ => return Err("unknown op"),
        });
        rest = &after_op[doc_len..];
    }
    Ok((changes, FRAME_HEADER + len))
}

/// Writes a fresh log holding `docs` to a temp file, then renames it over
/// `path`: a crash leaves either the old log or the new one.
pub fn rewrite<'a>(path: &Path, docs: impl Iterator<Item = &'a Document>) -> io::Result<LogFile> {
    let tmp = temp_path(path);
    {
        let mut out = io::BufWriter::new(File::create(&tmp)?);
        out.write_all(MAGIC)?;
        for doc in docs {
            out.write_all(&encode_frame(&[Change::Put(doc.clone())])?)?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path)?;
    let len = fs::metadata(path)?.len();
    LogFile::open_at(path, len)
}

pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Makes a file's creation or rename durable by fsyncing its directory.
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn frames_round_trip_and_torn_tails_are_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.log");
        let mut log = LogFile::create(&path).expect("create");
        log.append(&[
            Change::Put(doc! { "_id": 1, "a": "x" }),
            Change::Put(doc! { "_id": 2 }),
        ])
        .expect("append");
        log.append(&[Change::Delete(Bson::Int32(1))])
            .expect("append");
        let good_len = log.size();
        drop(log);

        // A crash in the middle of a third frame leaves half of it behind.
        let frame = encode_frame(&[Change::Put(doc! { "_id": 3 })]).expect("encode");
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(&frame[..frame.len() / 2]).expect("write");
        drop(file);

        let replay = replay(&path).expect("replay");
        assert_eq!(
            replay.changes,
            vec![
                Change::Put(doc! { "_id": 1, "a": "x" }),
                Change::Put(doc! { "_id": 2 }),
                Change::Delete(Bson::Int32(1)),
            ]
        );
        assert_eq!(replay.valid_len, good_len);
        assert!(replay.torn.is_some());

        let log = LogFile::open_at(&path, replay.valid_len).expect("reopen");
        assert_eq!(fs::metadata(&path).expect("meta").len(), log.size());
    }

    #[test]
    fn rewrite_replaces_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.log");
        let mut log = LogFile::create(&path).expect("create");
        for i in 0..10 {
            log.append(&[Change::Put(doc! { "_id": 1, "n": i })])
                .expect("append");
        }
        let docs = [doc! { "_id": 1, "n": 9 }];
        let log = rewrite(&path, docs.iter()).expect("rewrite");
        let replay = replay(&path).expect("replay");
        assert_eq!(replay.changes, vec![Change::Put(doc! { "_id": 1, "n": 9 })]);
        assert_eq!(log.size(), replay.valid_len);
        assert!(!temp_path(&path).exists());
    }
}
