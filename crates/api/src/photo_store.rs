//! Where photos are kept: a directory on this node (`attachments.store = "local"`, the default
//! for one node) or an S3-compatible object store that every API node shares
//! (`attachments.store = "s3"`), so that a photo uploaded through one node is served by another.
//!
//! Both speak `object_store`'s interface; keys are the photo's content address,
//! `<first two hex digits>/<sha256>.<ext>` (under `attachments.s3_prefix` in a bucket), the same
//! layout a local directory has always had. A key is written once: content-addressed bytes
//! never change, so a second upload of the same photo only finds it there. The local store
//! writes to a temporary file and renames it into place, so a reader never sees half a photo.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};

use crate::config::{AttachmentSettings, PhotoStoreKind};
use crate::error::ApiError;

/// A store that does not accept a connection within this is taken as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest a single request to the store may take (a photo is at most a few hundred kB).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries of a failed request stop after this, so an unreachable store is answered with 503
/// well within `server.request_timeout_secs`, not after the client library's default minutes.
const RETRY_TIMEOUT: Duration = Duration::from_secs(5);

/// The photo store every node of this installation uses. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    inner: Arc<dyn ObjectStore>,
}

impl PhotoStore {
    /// Opens the configured store. Nothing is sent yet: an unreachable S3 store shows as 503
    /// `storage_unavailable` on the requests that need it, not as a failed start.
    pub fn open(settings: &AttachmentSettings) -> anyhow::Result<PhotoStore> {
        let inner: Arc<dyn ObjectStore> = match settings.store {
            PhotoStoreKind::Local => {
                std::fs::create_dir_all(&settings.dir).map_err(|e| {
                    anyhow::anyhow!("creating attachments.dir {}: {e}", settings.dir)
                })?;
                Arc::new(LocalFileSystem::new_with_prefix(&settings.dir)?)
            }
            PhotoStoreKind::S3 => {
                if settings.s3_bucket.trim().is_empty() {
                    anyhow::bail!(
                        "configuration: attachments.store = \"s3\" needs attachments.s3_bucket"
                    );
                }
                let mut builder = AmazonS3Builder::new()
                    .with_client_options(
                        ClientOptions::new()
                            .with_connect_timeout(CONNECT_TIMEOUT)
                            .with_timeout(REQUEST_TIMEOUT),
                    )
                    .with_retry(RetryConfig {
                        backoff: BackoffConfig {
                            init_backoff: Duration::from_millis(100),
                            max_backoff: Duration::from_secs(1),
                            base: 2.0,
                        },
                        max_retries: 2,
                        retry_timeout: RETRY_TIMEOUT,
                    })
                    .with_bucket_name(settings.s3_bucket.trim())
                    .with_region(settings.s3_region.trim())
                    .with_access_key_id(settings.s3_access_key_id.trim())
                    .with_secret_access_key(settings.s3_secret_access_key.expose().trim());
                let endpoint = settings.s3_endpoint.trim();
                if !endpoint.is_empty() {
                    // Stores other than AWS are addressed by path (`endpoint/bucket/key`); plain
                    // HTTP only when the endpoint says so (a store inside the bureau's network).
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                let store = builder.build()?;
                let prefix = settings.s3_prefix.trim().trim_matches('/');
                if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
                }
            }
        };
        Ok(PhotoStore { inner })
    }

    /// Stores `bytes` under `key` unless something is there already.
    pub async fn put_once(&self, key: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        let key = Key::from(key);
        match self.inner.head(&key).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(unavailable(e, "storing a photo")),
        }
        self.inner
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(|e| unavailable(e, "storing a photo"))?;
        Ok(())
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ApiError> {
        let key = Key::from(key);
        let found = self.inner.get(&key).await.map_err(|e| match e {
            // A row names a photo the store does not have: the store lost it, or a restore
            // brought the database back without its photos. Not the client's doing.
            object_store::Error::NotFound { .. } => ApiError::Internal(
                anyhow::Error::new(e).context(format!("photo {key} is missing from the store")),
            ),
            other => unavailable(other, "reading a photo"),
        })?;
        let bytes = found
            .bytes()
            .await
            .map_err(|e| unavailable(e, "reading a photo"))?;
        Ok(bytes.to_vec())
    }
}

/// The store could not be reached or refused the operation: the client may retry.
fn unavailable(e: object_store::Error, doing: &str) -> ApiError {
    ApiError::StorageUnavailable(format!("{doing}: {e}"))
}
