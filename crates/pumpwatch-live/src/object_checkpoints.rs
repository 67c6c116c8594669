//! Checkpoints in an object store (S3 or a compatible service; a local folder or memory for
//! tests) through the `object_store` crate: one object per share under the URL's prefix,
//! replaced by a single PUT, which the store makes visible whole or not at all.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

use crate::checkpoint::{checkpoint_name, LiveCheckpoint};

/// The URL schemes an object-store checkpoint URL may have.
pub const SCHEMES: [&str; 4] = ["s3", "s3a", "file", "memory"];

/// How long one request to the store may take (retries included) before the run fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// See the module documentation.
pub struct ObjectCheckpoints {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    /// The store's client is asynchronous; the run is not.
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for ObjectCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectCheckpoints")
            .field("url", &self.url)
            .finish()
    }
}

impl ObjectCheckpoints {
    /// `s3://BUCKET/PREFIX` (with the `AWS_*` environment, then `options`), `file:///PATH`
    /// or `memory:///`.
    pub fn open(url: &str, options: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("checkpoint.url {url:?}"))?;
        let (store, prefix): (Arc<dyn ObjectStore>, ObjectPath) = match parsed.scheme() {
            "s3" | "s3a" => {
                use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
                let mut builder = AmazonS3Builder::from_env().with_url(url);
                for (key, value) in options {
                    let key: AmazonS3ConfigKey = key.parse().map_err(|_| {
                        anyhow::anyhow!("checkpoint.options: {key:?} is not an S3 setting")
                    })?;
                    builder = builder.with_config(key, value);
                }
                let store = builder
                    .build()
                    .with_context(|| format!("cannot set up the object store {url}"))?;
                let prefix = ObjectPath::from_url_path(parsed.path())
                    .with_context(|| format!("checkpoint.url {url:?}: its path"))?;
                (Arc::new(store), prefix)
            }
            "file" => {
                std::fs::create_dir_all(parsed.path())
                    .with_context(|| format!("cannot create {}", parsed.path()))?;
                let (store, prefix) = object_store::parse_url_opts(&parsed, options)
                    .with_context(|| format!("cannot set up the object store {url}"))?;
                (Arc::from(store), prefix)
            }
            "memory" => {
                let (store, prefix) = object_store::parse_url_opts(&parsed, options)
                    .with_context(|| format!("cannot set up the object store {url}"))?;
                (Arc::from(store), prefix)
            }
            other => {
                bail!("checkpoint.url: the scheme {other:?} is not supported (s3, file, memory)")
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the object store's runtime")?;
        Ok(ObjectCheckpoints {
            store,
            prefix,
            url: url.to_string(),
            runtime,
        })
    }

    fn path(&self, share: u32, shares: u32) -> ObjectPath {
        self.prefix.clone().join(checkpoint_name(share, shares))
    }

    fn block_on<T>(
        &self,
        what: &str,
        request: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> anyhow::Result<object_store::Result<T>> {
        self.runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, request).await })
            .map_err(|_| {
                anyhow::anyhow!("{what} in {} timed out after {REQUEST_TIMEOUT:?}", self.url)
            })
    }

    /// The latest checkpoint of a share, if one was written.
    pub fn load(&self, share: u32, shares: u32) -> anyhow::Result<Option<LiveCheckpoint>> {
        let path = self.path(share, shares);
        let read = self.block_on("reading a checkpoint", async {
            match self.store.get(&path).await {
                Ok(result) => result.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(err) => Err(err),
            }
        })?;
        let Some(bytes) = read.with_context(|| format!("cannot read {}/{path}", self.url))? else {
            return Ok(None);
        };
        LiveCheckpoint::from_bytes(&bytes)
            .with_context(|| format!("cannot read {}/{path}", self.url))
            .map(Some)
    }

    /// How long ago a share's checkpoint was last written (`None`: never, or unknown).
    pub fn age(&self, share: u32, shares: u32) -> Option<Duration> {
        let meta = self
            .block_on(
                "asking a checkpoint's age",
                self.store.head(&self.path(share, shares)),
            )
            .ok()?
            .ok()?;
        let modified: SystemTime = meta.last_modified.into();
        Some(modified.elapsed().unwrap_or_default())
    }

    /// Replaces the share's checkpoint with one PUT; returns its size.
    pub fn store(&self, checkpoint: &LiveCheckpoint) -> anyhow::Result<u64> {
        let bytes = checkpoint.to_bytes();
        let size = bytes.len() as u64;
        let path = self.path(checkpoint.share, checkpoint.shares);
        self.block_on(
            "writing a checkpoint",
            self.store.put(&path, PutPayload::from(bytes)),
        )?
        .with_context(|| format!("cannot write {}/{path}", self.url))?;
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{CheckpointStore, LIVE_CHECKPOINT_FORMAT};

    fn checkpoint(share: u32, engine: Vec<u8>) -> LiveCheckpoint {
        LiveCheckpoint {
            format: LIVE_CHECKPOINT_FORMAT,
            config_version: "v1".into(),
            shares: 2,
            share,
            engine,
            inputs: Vec::new(),
            alerts_end: BTreeMap::from([(0, 3)]),
            dead_letter_end: BTreeMap::new(),
            finished: false,
        }
    }

    #[test]
    fn a_folder_store_keeps_the_latest_checkpoint_of_each_share() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}/group-a", dir.path().display());
        let store = ObjectCheckpoints::open(&url, &BTreeMap::new()).unwrap();
        assert!(store.load(0, 2).unwrap().is_none());
        assert!(store.age(0, 2).is_none());
        store.store(&checkpoint(0, vec![1])).unwrap();
        store.store(&checkpoint(0, vec![1, 2])).unwrap();
        store.store(&checkpoint(1, vec![9])).unwrap();
        assert_eq!(store.load(0, 2).unwrap(), Some(checkpoint(0, vec![1, 2])));
        assert_eq!(store.load(1, 2).unwrap(), Some(checkpoint(1, vec![9])));
        assert!(store
            .age(0, 2)
            .is_some_and(|age| age < Duration::from_secs(60)));
        // Another process opening the same URL sees them.
        let again = ObjectCheckpoints::open(&url, &BTreeMap::new()).unwrap();
        assert_eq!(again.load(1, 2).unwrap(), Some(checkpoint(1, vec![9])));
        // Damage is named, not taken for state.
        let file = dir.path().join("group-a").join("share-1-of-2.checkpoint");
        let mut bytes = std::fs::read(&file).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&file, bytes).unwrap();
        let err = format!("{:#}", again.load(1, 2).unwrap_err());
        assert!(err.contains("damaged"), "{err}");
    }

    #[test]
    fn a_store_refuses_a_checkpoint_filed_under_another_share() {
        let config = crate::config::CheckpointConfig {
            dir: None,
            url: Some("memory:///".into()),
            options: BTreeMap::new(),
            interval_secs: 10.0,
        };
        let store = CheckpointStore::open(&config).unwrap();
        let CheckpointStore::Object(objects) = &store else {
            panic!("a URL opens an object store");
        };
        // Filed as share 0 of 2, holding share 1.
        let bytes = checkpoint(1, vec![]).to_bytes();
        objects
            .block_on(
                "a test",
                objects
                    .store
                    .put(&objects.path(0, 2), PutPayload::from(bytes)),
            )
            .unwrap()
            .unwrap();
        let err = format!("{:#}", store.load(0, 2).unwrap_err());
        assert!(err.contains("holds share 1 of 2"), "{err}");
    }

    #[test]
    fn an_unknown_setting_is_named() {
        let options = BTreeMap::from([("regio".to_string(), "x".to_string())]);
        let err = format!(
            "{:#}",
            ObjectCheckpoints::open("s3://bucket/prefix", &options).unwrap_err()
        );
        assert!(err.contains("regio"), "{err}");
    }
}
