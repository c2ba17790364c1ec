//! The bytes of attachments on disk: one file per distinct content, named by its SHA-256, so a
//! file attached many times is kept once. A new upload is written beside them and moved into place
//! only once it is whole and flushed.

use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Bytes kept from the start of an upload, to tell what it is.
pub const HEAD_BYTES: usize = 16;

pub struct FileStore {
    dir: PathBuf,
}

/// An upload written to disk, not yet in place.
pub struct Received {
    pub part: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub head: Vec<u8>,
}

#[derive(Debug)]
pub enum ReceiveError {
    TooLarge,
    /// The client's body broke off.
    Body(String),
    Disk(std::io::Error),
}

impl FileStore {
    pub fn new(dir: PathBuf) -> Self {
        FileStore { dir }
    }

    /// Where the bytes named `sha256` are. The name is checked to be a hash, so it can never
    /// point outside the directory.
    pub fn path(&self, sha256: &str) -> Option<PathBuf> {
        let is_hash = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        is_hash.then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Writes a body to a part file, hashing it, refusing more than `max` bytes.
    pub async fn receive<B, E>(
        &self,
        body: impl Stream<Item = Result<B, E>>,
        max: u64,
    ) -> Result<Received, ReceiveError>
    where
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let parts = self.dir.join("incoming");
        tokio::fs::create_dir_all(&parts).await.map_err(ReceiveError::Disk)?;
        let part = parts.join(format!("{:016x}.part", rand::random::<u64>()));
        let result = write(&part, body, max).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&part).await;
        }
        let (sha256, size, head) = result?;
        Ok(Received { part, sha256, size, head })
    }

    /// Moves a received upload into place (replacing the same bytes if they are there already).
    pub async fn keep(&self, received: &Received) -> std::io::Result<()> {
        let Some(target) = self.path(&received.sha256) else {
            return Err(std::io::Error::other("not a hash"));
        };
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::rename(&received.part, &target).await
    }

    /// Drops a received upload that was refused.
    pub async fn discard(&self, received: Received) {
        let _ = tokio::fs::remove_file(&received.part).await;
    }

    /// Removes the bytes named `sha256` if they were last written before `before` (an upload of
    /// the same bytes under way rewrites them, and keeps them).
    pub async fn remove_if_older(&self, sha256: &str, before: std::time::SystemTime) -> std::io::Result<()> {
        let Some(path) = self.path(sha256) else { return Ok(()) };
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.modified()? < before => tokio::fs::remove_file(&path).await,
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn open(&self, sha256: &str) -> std::io::Result<tokio::fs::File> {
        let path = self.path(sha256).ok_or_else(|| std::io::Error::other("not a hash"))?;
        tokio::fs::File::open(path).await
    }
}

async fn write<B, E>(
    part: &Path,
    body: impl Stream<Item = Result<B, E>>,
    max: u64,
) -> Result<(String, u64, Vec<u8>), ReceiveError>
where
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(part).await.map_err(ReceiveError::Disk)?;
    let (mut hasher, mut size, mut head) = (Sha256::new(), 0_u64, Vec::with_capacity(HEAD_BYTES));
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ReceiveError::Body(e.to_string()))?;
        let chunk = chunk.as_ref();
        size += chunk.len() as u64;
        if size > max {
            return Err(ReceiveError::TooLarge);
        }
        let wanted = HEAD_BYTES.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..wanted]);
        hasher.update(chunk);
        file.write_all(chunk).await.map_err(ReceiveError::Disk)?;
    }
    // On disk before any record names it: a crash must not leave a message with an empty file.
    file.sync_all().await.map_err(ReceiveError::Disk)?;
    Ok((format!("{:x}", hasher.finalize()), size, head))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<&'static [u8], String>> {
        futures_util::stream::iter(parts.iter().map(|p| Ok(*p)).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn the_same_bytes_are_kept_once_under_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let files = FileStore::new(dir.path().to_path_buf());
        let a = files.receive(chunks(&[b"hello ", b"world"]), 100).await.unwrap();
        assert_eq!(a.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        assert_eq!((a.size, a.head.as_slice()), (11, &b"hello world"[..]));
        files.keep(&a).await.unwrap();
        let b = files.receive(chunks(&[b"hello world"]), 100).await.unwrap();
        files.keep(&b).await.unwrap();
        let stored = std::fs::read(files.path(&a.sha256).unwrap()).unwrap();
        assert_eq!(stored, b"hello world");
        assert_eq!(std::fs::read_dir(dir.path().join("incoming")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = FileStore::new(dir.path().to_path_buf());
        let refused = files.receive(chunks(&[b"12345", b"67890"]), 9).await;
        assert!(matches!(refused, Err(ReceiveError::TooLarge)));
        assert_eq!(std::fs::read_dir(dir.path().join("incoming")).unwrap().count(), 0);
    }

    #[test]
    fn only_a_hash_names_a_file() {
        let files = FileStore::new("d".into());
        assert!(files.path("../../etc/passwd").is_none());
        assert!(files.path(&"A".repeat(64)).is_none());
        assert!(files.path(&"a".repeat(64)).is_some());
    }
}
