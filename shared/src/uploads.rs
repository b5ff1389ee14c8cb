//! Uploads, and attaching them as images and files (issue 31's fourth promise).
//!
//! `POST /uploads` checks what the client says it will upload (name, type, size) and
//! answers a presigned `PUT` with those signed in: S3 itself refuses other bytes. A
//! product or category then names the upload as its `image` (or a product as its
//! `file`): the object is looked at again (its real size and type; an image's first
//! bytes), copied to where attached objects live and the upload deleted, so one upload
//! becomes one object of one product, once. Deleting or replacing it deletes the object.

use crate::t;
use crate::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    commerce::media::{
        ObjectMetadata, Purpose, StoredObject, image_key, object_key, sniffed_image_type,
        upload_key,
    },
    ids::UploadId,
    store::media::Media,
};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, time::Duration};

/// How long a presigned upload URL works.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// How long the URL an image's address redirects to works (browsers cache the redirect
/// for less).
pub const IMAGE_URL_TTL: Duration = Duration::from_secs(10 * 60);
/// How long the download URL a paying customer gets works.
pub const FILE_URL_TTL: Duration = Duration::from_secs(5 * 60);

/// The path of an image's public address, below the public base URL.
pub fn image_path(id: &str) -> String {
    format!("/media/images/{id}")
}

/// The bucket, or 503 when the stack has none (`MEDIA_BUCKET`).
pub fn media(state: &AppState) -> ApiResult<&Media> {
    state.media.as_ref().ok_or_else(|| {
        tracing::error!("MEDIA_BUCKET is not set: uploads and attachments are unavailable");
        ApiError::Unavailable
    })
}

/// The body of `POST /uploads`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// `image` (a product's or category's picture) or `file` (what a file product sells).
    pub purpose: Option<Purpose>,
    /// The file's name, as the customer will see it when downloading.
    #[schema(max_length = 255)]
    pub filename: Option<String>,
    /// Images: `image/png`, `image/jpeg`, `image/gif`, `image/webp`.
    pub mime_type: Option<String>,
    /// In bytes: images up to 5 MiB, files up to 100 MiB.
    #[schema(minimum = 1)]
    pub size: Option<u64>,
}

/// What `POST /uploads` answers: where to `PUT` the bytes, and with which headers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Upload {
    /// Give it as a product's `image` or `file`, or a category's `image`.
    pub id: String,
    pub purpose: Purpose,
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
    /// A presigned URL: `PUT` the bytes there with exactly `headers`.
    pub upload_url: String,
    /// Always `PUT`.
    pub method: String,
    /// The headers the upload must carry, as signed into `upload_url`.
    pub headers: BTreeMap<String, String>,
    /// After this, `upload_url` no longer works; an upload not attached within a day is
    /// forgotten.
    pub expires_at: Timestamp,
}

/// Checks `input` and hands out a presigned upload for it; nothing is stored.
pub async fn create(state: &AppState, tenant: &Tenant, input: UploadInput) -> ApiResult<Upload> {
    let mut problems = Vec::new();
    if input.purpose.is_none() {
        problems.push(t!("Purpose can't be blank (image or file)"));
    }
    let filename = input
        .filename
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_string();
    if input.mime_type.is_none() {
        problems.push(t!("Mime type can't be blank"));
    }
    if input.size.is_none() {
        problems.push(t!("Size can't be blank"));
    }
    if let Some(purpose) = input.purpose {
        problems.extend(purpose.refusals(&filename, input.mime_type.as_deref(), input.size));
    }
    let (Some(purpose), Some(mime_type), Some(size)) = (input.purpose, input.mime_type, input.size)
    else {
        return Err(ApiError::Validation(problems));
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let media = media(state)?;
    let id = UploadId::new();
    let key = upload_key(tenant, purpose, id.as_str());
    let (url, headers) = media
        .presign_put(&key, &mime_type, size, &filename, UPLOAD_URL_TTL)
        .await?;
    Ok(Upload {
        id: id.to_string(),
        purpose,
        filename,
        mime_type,
        size,
        upload_url: url.to_string(),
        method: "PUT".into(),
        headers: headers.into_iter().collect(),
        expires_at: Timestamp::now().plus(UPLOAD_URL_TTL),
    })
}

/// The objects one change attaches, replaces and releases, to finish once it commits
/// or fails ([`Attachments::settle`]).
#[must_use = "settle it once the change committed or failed"]
pub struct Attachments<'a> {
    state: &'a AppState,
    tenant: &'a Tenant,
    /// Where images' addresses start (`http::public_base`).
    public_base: String,
    /// Deleted once the change commits: the uploads attached, the objects replaced.
    after_commit: Vec<String>,
    /// Deleted if it does not: the copies made for it.
    on_failure: Vec<String>,
}

impl<'a> Attachments<'a> {
    pub fn new(state: &'a AppState, tenant: &'a Tenant, public_base: String) -> Self {
        Attachments {
            state,
            tenant,
            public_base,
            after_commit: Vec::new(),
            on_failure: Vec::new(),
        }
    }

    /// The object `field` (a `purpose` object) has after a request that gave `wanted`
    /// for it (`None`: not given; `Some(None)`: removed; `Some(Some(id))`: this upload)
    /// over `current`. An upload is checked and copied now; what it replaces is deleted
    /// only once the change commits.
    pub async fn attach(
        &mut self,
        field: &str,
        purpose: Purpose,
        wanted: Option<Option<String>>,
        current: Option<&StoredObject>,
    ) -> ApiResult<Option<StoredObject>> {
        let tenant = self.tenant;
        let current_key = || current.map(|c| object_key(tenant, c.purpose(), &c.id));
        let id = match wanted {
            None => return Ok(current.cloned()),
            Some(None) => {
                self.after_commit.extend(current_key());
                return Ok(None);
            }
            Some(Some(id)) if current.is_some_and(|c| c.id == id) => return Ok(current.cloned()),
            Some(Some(id)) => id,
        };
        let id = UploadId::parse(id.trim()).map_err(|_| {
            ApiError::invalid(t!(
                "{field} must be the id of an upload (upl_...) from POST /uploads, or null",
                field
            ))
        })?;
        let media = media(self.state)?;
        let upload = upload_key(tenant, purpose, id.as_str());
        let Some(info) = media.head(&upload).await? else {
            return Err(ApiError::invalid(t!(
                "{field}: upload {id} was not found as a {purpose} (not uploaded yet, expired, already attached, or made for another purpose)",
                field,
                id,
                purpose = purpose.as_str()
            )));
        };
        let mime_type = info.content_type.clone().unwrap_or_default();
        let filename = info.filename.clone().unwrap_or_else(|| id.to_string());
        let mut problems: Vec<String> = purpose
            .refusals(&filename, Some(&mime_type), Some(info.size))
            .into_iter()
            .map(|problem| t!("{field}: {problem}", field, problem))
            .collect();
        if problems.is_empty() && purpose == Purpose::Image {
            let first = media.first_bytes(&upload, 16).await?;
            let sniffed = sniffed_image_type(&first);
            if sniffed != Some(mime_type.as_str()) {
                problems.push(match sniffed {
                    Some(sniffed) => t!(
                        "{field}: the uploaded bytes are not a {mime_type} image (they are {sniffed})",
                        field,
                        mime_type,
                        sniffed
                    ),
                    None => t!(
                        "{field}: the uploaded bytes are not a {mime_type} image",
                        field,
                        mime_type
                    ),
                });
            }
        }
        if !problems.is_empty() {
            // A refused upload cannot be attached as it is: it is deleted, not kept a day.
            media.forget(&[upload]).await;
            return Err(ApiError::Validation(problems));
        }
        let key = object_key(tenant, purpose, id.as_str());
        media.copy(&upload, &key).await?;
        self.on_failure.push(key);
        self.after_commit.push(upload);
        self.after_commit.extend(current_key());
        let url = (purpose == Purpose::Image)
            .then(|| format!("{}{}", self.public_base, image_path(id.as_str())));
        Ok(Some(StoredObject {
            id: id.to_string(),
            storage: purpose.storage().into(),
            metadata: ObjectMetadata {
                size: info.size,
                filename,
                mime_type,
            },
            url,
        }))
    }

    /// The objects of a deleted product or category, deleted once the change commits.
    pub fn release(&mut self, objects: &[&Option<StoredObject>]) {
        for object in objects.iter().filter_map(|o| o.as_ref()) {
            let key = object_key(self.tenant, object.purpose(), &object.id);
            self.after_commit.push(key);
        }
    }

    /// Deletes what the change, committed or not, no longer needs.
    pub async fn settle<T, E>(self, outcome: &Result<T, E>) {
        let Some(media) = self.state.media.as_ref() else {
            return;
        };
        let unused = if outcome.is_ok() {
            self.after_commit
        } else {
            self.on_failure
        };
        media.forget(&unused).await;
    }
}

/// `GET /media/images/{id}`: where an image's bytes are now (a short-lived presigned
/// URL; anyone may see an image, as on a shop's page).
pub async fn image_location(state: &AppState, id: &str) -> ApiResult<String> {
    let id = UploadId::parse(id).map_err(|_| ApiError::NotFound("Image"))?;
    let media = media(state)?;
    let key = image_key(id.as_str());
    Ok(media
        .presign_get(&key, IMAGE_URL_TTL, None)
        .await?
        .to_string())
}

/// Where the customer of a paid order downloads `file` from: a presigned URL valid for
/// [`FILE_URL_TTL`], as an attachment with the file's name.
pub async fn file_location(
    state: &AppState,
    tenant: &Tenant,
    file: &StoredObject,
) -> ApiResult<String> {
    let media = media(state)?;
    let key = object_key(tenant, Purpose::File, &file.id);
    let url = media
        .presign_get(&key, FILE_URL_TTL, Some(&file.metadata.filename))
        .await?;
    Ok(url.to_string())
}
