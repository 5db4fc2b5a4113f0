//! Image bytes at their content address, `/images/{sha256}.jpg`: what a URL serves never
//! changes, so browsers and proxies keep it for a year and revalidate with the hash as ETag.

use super::pages::PageError;
use crate::images::Images;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn hash_of(file: &str) -> Option<&str> {
    let hash = file.strip_suffix(".jpg")?;
    (hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then_some(hash)
}

/// Whether `If-None-Match` names this ETag (or `*`).
fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

pub async fn serve(
    req: HttpRequest,
    images: web::Data<Images>,
    file: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(hash) = hash_of(&file) else {
        return Err(crate::web::error::AppError::NotFound.into());
    };
    let etag = format!("\"{hash}\"");
    if not_modified(&req, &etag) {
        // The bytes behind a hash never change: a browser holding any copy holds this one.
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, IMMUTABLE))
            .finish());
    }
    let bytes = images
        .bytes(hash)
        .await
        .map_err(crate::web::error::AppError::from)?
        .ok_or(crate::web::error::AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .body(bytes))
}
