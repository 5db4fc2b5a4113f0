//! The layering of `src/live/` (issue: Comet for every client, item 5): the hub and its parts
//! know no HTTP framework and nothing of `web/`; only the transports that answer requests
//! (`stream.rs`, `poll.rs`) do. Which lots a viewer may see is decided in `domain::visibility`.

const HUB_PARTS: [&str; 7] = [
    "hub.rs",
    "limits.rs",
    "metrics.rs",
    "event.rs",
    "presence.rs",
    "cursor.rs",
    "mod.rs",
];

#[test]
fn the_hub_knows_no_web_framework() {
    for part in HUB_PARTS {
        let path = format!("{}/src/live/{part}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("source");
        for banned in ["actix", "crate::web", "HttpResponse", "AppError"] {
            assert!(!text.contains(banned), "src/live/{part} names {banned}");
        }
    }
}

#[test]
fn visibility_is_decided_in_one_place() {
    let root = env!("CARGO_MANIFEST_DIR");
    for file in ["src/web/api/lots.rs", "src/live/stream.rs"] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("source");
        assert!(
            text.contains("visibility::"),
            "{file} asks domain::visibility"
        );
    }
    let pages = std::fs::read_to_string(format!("{root}/src/web/pages/lots.rs")).expect("pages");
    assert!(
        pages.contains("visible(") && !pages.contains("is_public()"),
        "pages ask the same"
    );
}
