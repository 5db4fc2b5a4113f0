//! Lot images (API.md §8): checked by decoding, re-encoded without metadata, at most 12, served
//! immutable at their content address; bad files and decompression bombs refused with the
//! server up and its memory flat.

use crate::helpers::{TestApp, error_code, spawn_app};
use image::{DynamicImage, ImageFormat, RgbImage, RgbaImage};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::io::Cursor;

fn encoded(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encoded");
    out.into_inner()
}

fn picture(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    }))
}

/// A JPEG carrying an EXIF block with a GPS position and a camera owner's name.
fn jpeg_with_gps() -> Vec<u8> {
    let jpeg = encoded(picture(640, 480), ImageFormat::Jpeg);
    // TIFF, big-endian: IFD0 holds the GPS IFD's offset and an Artist; the GPS IFD a latitude.
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    let artist = b"Secret Owner\0";
    let ifd0_len = 2 + 2 * 12 + 4;
    let gps_at = 8 + ifd0_len;
    let gps_len = 2 + 12 + 4;
    let artist_at = gps_at + gps_len;
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x3b, 0, 2]);
    tiff.extend_from_slice(&(artist.len() as u32).to_be_bytes());
    tiff.extend_from_slice(&(artist_at as u32).to_be_bytes());
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1]);
    tiff.extend_from_slice(&(gps_at as u32).to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(artist);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    c.extend_from_slice(&body);
    c.extend_from_slice(&crc32(&body).to_be_bytes());
    c
}

/// A valid PNG header declaring 50,000 × 50,000 pixels (10 GB decoded) in a few dozen bytes.
fn png_bomb() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = 50_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

async fn upload(
    app: &TestApp,
    token: &str,
    lot: &str,
    bytes: Vec<u8>,
    name: &str,
) -> reqwest::Response {
    let form = Form::new().part("image", Part::bytes(bytes).file_name(name.to_owned()));
    app.api
        .post(app.url(&format!("/api/v1/lots/{lot}/images")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("answered")
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[actix_web::test]
async fn photographs_lose_their_metadata_and_are_served_immutable() {
    let app = spawn_app().await;
    let (_, seller, _) = app.cast().await;
    let lot = app.offer(&seller, 1_000, None, 600).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let original = jpeg_with_gps();
    assert!(original.windows(12).any(|w| w == b"Secret Owner"));
    let res = upload(&app, &seller, &lot, original, "holiday.jpg").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let image: Value = res.json().await.expect("json");
    let image = &image["image"];
    assert_eq!(
        (image["width"].clone(), image["height"].clone()),
        (json!(640), json!(480))
    );
    let url = image["url"].as_str().expect("url").to_owned();
    let res = app.api.get(app.url(&url)).send().await.expect("served");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let served = res.bytes().await.expect("bytes");
    assert_eq!(&served[..2], &[0xff, 0xd8]);
    for secret in [&b"Exif"[..], b"Secret Owner", &[0xff, 0xe1]] {
        assert!(
            !served.windows(secret.len()).any(|w| w == secret),
            "{secret:?} left the server"
        );
    }
    let back = image::load_from_memory(&served).expect("a JPEG");
    assert_eq!((back.width(), back.height()), (640, 480));
    // The address is the content: the ETag says so, and a browser holding it gets 304.
    assert!(url.contains(etag.trim_matches('"')));
    let res = app
        .api
        .get(app.url(&url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("304");
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(res.headers()["etag"], etag.as_str());
    let thumb = image["thumb_url"].as_str().expect("thumb");
    let small = app
        .api
        .get(app.url(thumb))
        .send()
        .await
        .expect("thumb")
        .bytes()
        .await
        .expect("bytes");
    assert!(image::load_from_memory(&small).expect("JPEG").width() <= 480);
    let lot_json = app.lot(&lot, Some(&seller)).await;
    assert_eq!(lot_json["images"][0]["url"], url.as_str());

    // PNG (with transparency) and WebP are taken too; what they declare to be does not matter.
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(300, 200, |x, _| {
        image::Rgba([200, 10, 10, (x % 256) as u8])
    }));
    let res = upload(
        &app,
        &seller,
        &lot,
        encoded(rgba, ImageFormat::Png),
        "photo.jpg",
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = upload(
        &app,
        &seller,
        &lot,
        encoded(picture(320, 240), ImageFormat::WebP),
        "x.bin",
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let images = app.lot(&lot, Some(&seller)).await["images"]
        .as_array()
        .expect("images")
        .len();
    assert_eq!(images, 3);
    let missing = app
        .api
        .get(app.url(&format!("/images/{}.jpg", "a".repeat(64))))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn broken_files_and_bombs_are_refused_with_the_server_up_and_memory_flat() {
    let app = spawn_app().await;
    let (_, seller, _) = app.cast().await;
    let lot = app.offer(&seller, 1_000, None, 600).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let jpeg = encoded(picture(800, 600), ImageFormat::Jpeg);
    let before = resident_kib();
    let bad: [(&str, Vec<u8>); 4] = [
        ("truncated", jpeg[..jpeg.len() / 3].to_vec()),
        (
            "text named .jpg",
            b"this is not a photograph at all\n".repeat(10),
        ),
        ("a 50,000 x 50,000 PNG", png_bomb()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in bad {
        let (code, error, _) = error_code(upload(&app, &seller, &lot, bytes, "x.jpg").await).await;
        assert_eq!(
            (code, error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_image"),
            "{what}"
        );
    }
    let grew = resident_kib().saturating_sub(before);
    assert!(grew < 100 * 1024, "memory grew by {grew} KiB");
    let too_big = vec![0u8; 10 * 1024 * 1024 + 1];
    let (code, error, _) = error_code(upload(&app, &seller, &lot, too_big, "big.jpg").await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    assert_eq!(
        app.api
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("up")
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.lot(&lot, Some(&seller)).await["images"], json!([]));
}

#[actix_web::test]
async fn twelve_images_at_most_and_only_the_seller_while_pending_or_an_admin() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let other = app.user("sue", "seller").await;
    let lot = app.offer(&seller, 1_000, None, 600).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let small = encoded(picture(64, 48), ImageFormat::Png);
    for n in 0..12 {
        let res = upload(&app, &seller, &lot, small.clone(), "p.png").await;
        assert_eq!(res.status(), StatusCode::CREATED, "image {n}");
    }
    let (code, error, _) =
        error_code(upload(&app, &seller, &lot, small.clone(), "p.png").await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "too_many_images")
    );
    let lot_json = app.lot(&lot, Some(&seller)).await;
    let first = lot_json["images"][0]["id"].as_str().expect("id").to_owned();
    // The same photograph twelve times is stored once (two sizes).
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM image_blobs")
        .fetch_one(&app.store.pool)
        .await
        .expect("count");
    assert_eq!(blobs, 2);
    let res = app
        .api
        .delete(app.url(&format!("/api/v1/lots/{lot}/images/{first}")))
        .bearer_auth(&seller)
        .send()
        .await
        .expect("deleted");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.lot(&lot, Some(&seller)).await["images"]
            .as_array()
            .expect("list")
            .len(),
        11
    );

    let (code, _, _) = error_code(upload(&app, &other, &lot, small.clone(), "p.png").await).await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "another seller's offer is not theirs to see"
    );
    let (code, _, _) = error_code(upload(&app, &bea, &lot, small.clone(), "p.png").await).await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    let open = app.open_lot(&seller, &admin, 1_000, None, 600).await;
    let (code, _, _) = error_code(upload(&app, &other, &open, small.clone(), "p.png").await).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "another seller's open lot");
    let (code, error, _) =
        error_code(upload(&app, &seller, &open, small.clone(), "p.png").await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::CONFLICT, "lot_not_pending"),
        "an open lot"
    );
    let listed = |app: &TestApp| {
        let url = app.url("/api/v1/lots?q=brass");
        let api = app.api.clone();
        async move {
            let found: Value = api
                .get(url)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            found["lots"][0]["images"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(listed(&app).await, 0);
    let res = upload(&app, &admin, &open, small, "p.png").await;
    assert_eq!(res.status(), StatusCode::CREATED, "admins may");
    // A search read before the upload is not served again: an image is a catalogue edit.
    assert_eq!(listed(&app).await, 1);
    // The open lot's JSON is served from the house's memory: it shows the image at once.
    assert_eq!(
        app.lot(&open, None).await["images"]
            .as_array()
            .expect("list")
            .len(),
        1
    );
}
