//! A replication target: an object store named by a URL (`s3://bucket/prefix`,
//! `gs://`, `az://`, `file:///path`), through the `object_store` crate, driven from
//! this thread by a runtime of its own (the store's API stays synchronous).
//!
//! Settings come from the environment as `object_store` names them (`AWS_ENDPOINT`,
//! `AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ALLOW_HTTP`, `GOOGLE_*`, `AZURE_*`).

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::{Error, Result};

/// An opened target.
pub(crate) struct Target {
    url: String,
    store: Box<dyn ObjectStore>,
    prefix: Path,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("url", &self.url).finish()
    }
}

impl Target {
    /// Opens the target at `url`. Bad URLs and unknown schemes are `InvalidArgument`.
    pub(crate) fn open(url: &str) -> Result<Target> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::InvalidArgument(format!("replica target {url:?}: {e}")))?;
        let opts: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_")
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let (store, prefix) = object_store::parse_url_opts(&parsed, opts)
            .map_err(|e| Error::InvalidArgument(format!("replica target {url:?}: {e}")))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Target {
            url: url.to_string(),
            store,
            prefix,
            rt,
        })
    }

    /// The URL it was opened with.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, key: &str) -> Path {
        let mut p = self.prefix.clone();
        for part in key.split('/') {
            p = p.join(part);
        }
        p
    }

    fn err(&self, what: &str, key: &str, e: object_store::Error) -> Error {
        Error::Storage(format!("replica {}: {what} {key}: {e}", self.url))
    }

    /// The object at `key`, or `None` when there is none.
    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let p = self.path(key);
        self.rt.block_on(async {
            match self.store.get(&p).await {
                Ok(r) => match r.bytes().await {
                    Ok(b) => Ok(Some(b.to_vec())),
                    Err(e) => Err(self.err("reading", key, e)),
                },
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.err("reading", key, e)),
            }
        })
    }

    /// Writes `bytes` at `key`, replacing what is there.
    pub(crate) fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let p = self.path(key);
        self.rt.block_on(async {
            self.store
                .put(&p, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(|e| self.err("writing", key, e))
        })
    }

    /// Writes `bytes` at `key` only if nothing is there; `false` when something was.
    pub(crate) fn create(&self, key: &str, bytes: Vec<u8>) -> Result<bool> {
        let p = self.path(key);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        self.rt.block_on(async {
            match self.store.put_opts(&p, PutPayload::from(bytes), opts).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(object_store::Error::Precondition { .. }) => Ok(false),
                Err(e) => Err(self.err("creating", key, e)),
            }
        })
    }
}
