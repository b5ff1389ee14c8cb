//! Images and files: what a product's or category's `image` and a product's `file` are
//! (the seed's object: `id`, `storage`, `metadata {size, filename, mime_type}`, `url`),
//! which uploads may become them, and where their bytes live (`store::media`).

use crate::Tenant;
use crate::t;
use serde::{Deserialize, Serialize};

/// What an upload is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// A product's or category's picture: public, served by URL.
    Image,
    /// What a file product sells: only for the customer who paid.
    File,
}

/// Images browsers show: the types checked by their first bytes too.
pub const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What a file product may sell: archives, documents, media. Never something a
/// browser would run (HTML, SVG, scripts), even as a download.
pub const FILE_TYPES: [&str; 16] = [
    "application/zip",
    "application/x-7z-compressed",
    "application/gzip",
    "application/x-tar",
    "application/pdf",
    "application/epub+zip",
    "application/octet-stream",
    "application/json",
    "text/plain",
    "text/csv",
    "audio/mpeg",
    "audio/wav",
    "video/mp4",
    "image/png",
    "image/jpeg",
    "font/ttf",
];

/// The largest image: 5 MiB.
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// The largest file: 100 MiB.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// The longest file name kept.
pub const MAX_FILENAME_CHARS: usize = 255;

impl Purpose {
    pub fn as_str(&self) -> &'static str {
        match self {
            Purpose::Image => "image",
            Purpose::File => "file",
        }
    }

    /// The seed's `storage`: where the object is kept.
    pub fn storage(&self) -> &'static str {
        match self {
            Purpose::Image => "images",
            Purpose::File => "files",
        }
    }

    pub fn max_bytes(&self) -> u64 {
        match self {
            Purpose::Image => MAX_IMAGE_BYTES,
            Purpose::File => MAX_FILE_BYTES,
        }
    }

    pub fn types(&self) -> &'static [&'static str] {
        match self {
            Purpose::Image => &IMAGE_TYPES,
            Purpose::File => &FILE_TYPES,
        }
    }

    /// Why an upload of `size` bytes of `mime_type` named `filename` cannot be one of
    /// these; every reason, in the API's words. What is not given is not checked.
    pub fn refusals(
        &self,
        filename: &str,
        mime_type: Option<&str>,
        size: Option<u64>,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let name = filename.trim();
        if name.is_empty() {
            problems.push(t!("Filename can't be blank"));
        } else if name.chars().count() > MAX_FILENAME_CHARS {
            problems.push(t!(
                "Filename is too long (maximum is {max} characters)",
                max = MAX_FILENAME_CHARS
            ));
        } else if name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            problems.push(t!(
                "Filename must not contain slashes or control characters"
            ));
        }
        if let Some(mime_type) = mime_type.filter(|m| !self.types().contains(m)) {
            problems.push(t!(
                "Mime type {mime_type:?} is not accepted for a {purpose}; accepted: {accepted}",
                mime_type,
                purpose = self.as_str(),
                accepted = self.types().join(", ")
            ));
        }
        match size {
            Some(0) => problems.push(t!("Size must be at least 1 byte")),
            Some(size) if size > self.max_bytes() => problems.push(t!(
                "Size must be at most {max} bytes for a {purpose} ({size} given)",
                max = self.max_bytes(),
                purpose = self.as_str(),
                size
            )),
            _ => {}
        }
        problems
    }
}

/// The type an image's first bytes say it is, if they say one of [`IMAGE_TYPES`].
pub fn sniffed_image_type(first: &[u8]) -> Option<&'static str> {
    if first.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if first.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if first.starts_with(b"GIF87a") || first.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if first.len() >= 12 && &first[..4] == b"RIFF" && &first[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// An image or file as stored on its product or category and as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredObject {
    /// The upload's id.
    pub id: String,
    /// `images` or `files`.
    pub storage: String,
    pub metadata: ObjectMetadata,
    /// An image's address (anyone may fetch it); always null for a file, which only
    /// the customer who paid gets, from the payment page.
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ObjectMetadata {
    pub size: u64,
    pub filename: String,
    pub mime_type: String,
}

impl StoredObject {
    pub fn purpose(&self) -> Purpose {
        if self.storage == Purpose::File.storage() {
            Purpose::File
        } else {
            Purpose::Image
        }
    }
}

/// Where an upload waits to be attached.
pub fn upload_key(tenant: &Tenant, purpose: Purpose, id: &str) -> String {
    format!(
        "uploads/{}/{}/{}/{id}",
        tenant.account_id(),
        tenant.mode().as_str(),
        purpose.as_str()
    )
}

/// Where an attached image lives: by id alone, since its public address names it.
pub fn image_key(id: &str) -> String {
    format!("images/{id}")
}

/// Where an attached object lives: images by id alone (their URL names them), files
/// under their tenant.
pub fn object_key(tenant: &Tenant, purpose: Purpose, id: &str) -> String {
    match purpose {
        Purpose::Image => image_key(id),
        Purpose::File => format!(
            "files/{}/{}/{id}",
            tenant.account_id(),
            tenant.mode().as_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_checked_for_name_type_and_size_at_once() {
        assert!(
            Purpose::Image
                .refusals("logo.png", Some("image/png"), Some(3_463))
                .is_empty()
        );
        assert!(
            Purpose::File
                .refusals("my product.zip", Some("application/zip"), Some(225_894))
                .is_empty()
        );
        let two_gb = 2 * 1024 * 1024 * 1024;
        assert_eq!(
            Purpose::File.refusals("../x", Some("text/html"), Some(two_gb)),
            [
                "Filename must not contain slashes or control characters".to_string(),
                format!(
                    "Mime type \"text/html\" is not accepted for a file; accepted: {}",
                    FILE_TYPES.join(", ")
                ),
                format!("Size must be at most 104857600 bytes for a file ({two_gb} given)"),
            ]
        );
        assert_eq!(
            Purpose::Image
                .refusals(" ", Some("image/svg+xml"), Some(0))
                .len(),
            3,
            "blank name, SVG (it can run script), empty"
        );
    }

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(
            sniffed_image_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(sniffed_image_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniffed_image_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(
            sniffed_image_type(b"RIFF\0\0\0\0WEBPVP8 "),
            Some("image/webp")
        );
        assert_eq!(sniffed_image_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniffed_image_type(b""), None);
    }
}
