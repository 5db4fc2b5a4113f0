//! Reading a multipart upload (an image and a few short fields) within bounds: one image of at
//! most 10 MB, text fields of at most 1 KiB, at most 16 parts. Anything beyond is refused as it
//! arrives, never buffered whole.

use super::error::AppError;
use crate::images::process::MAX_UPLOAD_BYTES;
use actix_multipart::Multipart;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::collections::HashMap;

const MAX_FIELD_BYTES: usize = 1024;
const MAX_PARTS: usize = 16;
/// The form field that carries the file.
pub const IMAGE_FIELD: &str = "image";

#[derive(Default)]
pub struct Upload {
    /// The file's bytes; `None` when the form sent no file (or an empty one).
    pub image: Option<Bytes>,
    pub fields: HashMap<String, String>,
}

fn bad_form(why: impl std::fmt::Display) -> AppError {
    AppError::field(
        "image",
        "invalid_upload",
        format!("the upload could not be read: {why}"),
    )
}

pub async fn read(mut form: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    let mut parts = 0;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(bad_form)?;
        parts += 1;
        if parts > MAX_PARTS {
            return Err(bad_form("too many parts"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let limit = if name == IMAGE_FIELD {
            MAX_UPLOAD_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(bad_form)?;
            if bytes.len() + chunk.len() > limit {
                return Err(if name == IMAGE_FIELD {
                    AppError::UploadTooLarge
                } else {
                    bad_form(format!("the field {name:?} is too long"))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == IMAGE_FIELD {
            if upload.image.is_some() {
                return Err(bad_form("send one image per request"));
            }
            upload.image = Some(bytes.freeze()).filter(|b| !b.is_empty());
        } else {
            let text =
                String::from_utf8(bytes.to_vec()).map_err(|_| bad_form("a field is not UTF-8"))?;
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}
