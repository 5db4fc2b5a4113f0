//! `--demo`: sample people and lots in an empty database, and a bot that bids now and then,
//! so a newcomer sees an auction moving at once.

use crate::auction::{AuctionHouse, NewSale};
use crate::config::Settings;
use crate::domain::catalogue::{CategoryName, SaleTimes};
use crate::domain::{BidRequest, Cents, LotStatus, NewLot, Password, Role, UserRef, Username};
use crate::images::Images;
use crate::store::Store;
use std::time::Duration;

pub const DEMO_PASSWORD: &str = "demo-password";

const PEOPLE: [(&str, Role); 6] = [
    ("admin", Role::Admin),
    ("sam", Role::Seller),
    ("sofia", Role::Seller),
    ("bea", Role::Bidder),
    ("bruno", Role::Bidder),
    ("bodil", Role::Bidder),
];

const CATEGORIES: [&str; 7] = [
    "Clocks & Watches",
    "Furniture",
    "Books",
    "Kitchen",
    "Art & Prints",
    "Sport & Leisure",
    "Electronics",
];

/// The demo's sale opens this long after launch, its first lot closes this long after it
/// opens, and the others follow a minute apart.
const SALE_OPENS_IN_SECS: i64 = 180;
const SALE_FIRST_CLOSE_AFTER_SECS: i64 = 300;
const SALE_STAGGER_SECS: i64 = 60;

/// The sale's lots: (title, description, starting price in cents, category).
const SALE_LOTS: [(&str, &str, i64, usize); 12] = [
    (
        "Carriage clock",
        "Brass and glass, eight-day movement, running.",
        8_000,
        0,
    ),
    (
        "Pocket watch, silver",
        "Open face, engraved case, 1910s.",
        6_500,
        0,
    ),
    (
        "Bentwood rocking chair",
        "Cane seat, sound frame.",
        9_000,
        1,
    ),
    ("Oak writing desk", "Three drawers, leather top.", 22_000, 1),
    (
        "Atlas of the world, 1952",
        "Folio, colour plates, spine repaired.",
        4_000,
        2,
    ),
    (
        "Poetry collection, signed",
        "First edition, signed by the author.",
        7_500,
        2,
    ),
    (
        "Copper saucepan set",
        "Three pans, tin-lined, with lids.",
        5_500,
        3,
    ),
    ("Enamel coffee pot", "Blue and white, no chips.", 1_800, 3),
    (
        "Still life in oils",
        "Fruit and a jug, framed, 50 × 40 cm.",
        15_000,
        4,
    ),
    (
        "Linocut harbour scene",
        "Signed and numbered, 12 of 50.",
        3_500,
        4,
    ),
    ("Wooden tennis racket", "1960s, with press.", 2_200, 5),
    (
        "Fly-fishing reel",
        "Brass, smooth drag, in its box.",
        4_800,
        5,
    ),
];

/// (title, description, starting price in cents, reserve, minutes to run)
const LOTS: [(&str, &str, i64, Option<i64>, i64); 8] = [
    (
        "Brass ship's clock",
        "Working 1920s bulkhead clock, key included.",
        4_500,
        None,
        6,
    ),
    (
        "Mid-century teak armchair",
        "Reupholstered in green wool. Pick-up only.",
        12_000,
        Some(20_000),
        20,
    ),
    (
        "First-edition field guide to birds",
        "1947 printing, dust jacket worn.",
        2_500,
        None,
        45,
    ),
    (
        "Hand-thrown stoneware set",
        "Four plates and four bowls, ash glaze.",
        6_000,
        None,
        90,
    ),
    (
        "Vintage road bicycle",
        "Steel frame, 56 cm, new tyres.",
        18_000,
        Some(30_000),
        150,
    ),
    (
        "Framed botanical prints (pair)",
        "Oak frames, 40 × 50 cm each.",
        3_000,
        None,
        240,
    ),
    (
        "Mechanical keyboard",
        "Tactile switches, walnut case.",
        9_000,
        None,
        360,
    ),
    (
        "Cast-iron skillet, 30 cm",
        "Seasoned and ready to cook.",
        1_500,
        None,
        600,
    ),
];

fn random_below(n: u32) -> u32 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 0;
    }
    u32::from_le_bytes(b) % n.max(1)
}

/// Seeds a database without lots, then starts the bidding bot either way.
pub async fn start(store: &Store, house: &AuctionHouse, settings: &Settings) -> anyhow::Result<()> {
    if store.lot_count().await? == 0 {
        seed(store, house, settings).await?;
    }
    let mut bidders = Vec::new();
    for (name, role) in PEOPLE {
        if role == Role::Bidder
            && let Some((user, _)) = store.user_by_name(name).await?
        {
            bidders.push(user.as_ref());
        }
    }
    tokio::spawn(bot(store.clone(), house.clone(), bidders));
    Ok(())
}

async fn seed(store: &Store, house: &AuctionHouse, settings: &Settings) -> anyhow::Result<()> {
    let now = settings.clock.now();
    let hash = crate::web::auth::hash_password(Password::parse(DEMO_PASSWORD)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sellers = Vec::new();
    for (name, role) in PEOPLE {
        let user = match store.user_by_name(name).await? {
            Some((existing, _)) => existing,
            None => {
                store
                    .create_user(&Username::parse(name)?, &hash, role, now)
                    .await?
            }
        };
        if role == Role::Seller && user.role.can_sell() {
            sellers.push(user.as_ref());
        }
    }
    let mut categories = Vec::new();
    for name in CATEGORIES {
        let name = CategoryName::parse(name).map_err(|e| anyhow::anyhow!(e.message))?;
        categories.push(store.add_category(&name, now).await?);
    }
    let images = Images::new(store.clone());
    // The open lots' categories, in the order of `LOTS`.
    let filed = [0, 1, 2, 3, 5, 4, 6, 3];
    for (i, (title, description, start, reserve, minutes)) in LOTS.into_iter().enumerate() {
        let offer = NewLot::parse(
            title,
            description,
            Cents::new(start),
            reserve.map(Cents::new),
            minutes * 60,
        )
        .map_err(|e| anyhow::anyhow!(e.message))?
        .in_category(categories.get(filed[i]).cloned());
        let seller = sellers[i % sellers.len()].clone();
        let lot = house.create(seller, offer).await?;
        add_pictures(&images, house, lot.id(), i as u32 * 10, 2).await?;
        house.approve(lot.id()).await?;
    }
    let starts = now + chrono::Duration::seconds(SALE_OPENS_IN_SECS);
    let times = SaleTimes {
        starts_at: starts,
        first_close_at: starts + chrono::Duration::seconds(SALE_FIRST_CLOSE_AFTER_SECS),
        stagger_secs: SALE_STAGGER_SECS,
    };
    let sale = NewSale {
        id: uuid::Uuid::now_v7(),
        title: "Evening sale: objects of the house".into(),
        description: "Twelve lots opening together and closing a minute apart.".into(),
        times,
    };
    let sale_id = sale.id;
    house.create_sale(sale).await?;
    for (i, (title, description, start, category)) in SALE_LOTS.into_iter().enumerate() {
        let offer = NewLot::parse(title, description, Cents::new(start), None, 3600)
            .map_err(|e| anyhow::anyhow!(e.message))?
            .in_category(categories.get(category).cloned());
        let seller = sellers[i % sellers.len()].clone();
        let lot = house.create(seller, offer).await?;
        add_pictures(&images, house, lot.id(), 500 + i as u32 * 10, 1 + i % 3).await?;
        house.approve_into(lot.id(), sale_id).await?;
    }
    tracing::info!(
        "demo data created: log in as admin, sam, sofia, bea, bruno or bodil with password {DEMO_PASSWORD}"
    );
    Ok(())
}

/// Draws `count` pictures (seeded from `seed`) and adds them to a pending lot.
async fn add_pictures(
    images: &Images,
    house: &AuctionHouse,
    lot: uuid::Uuid,
    seed: u32,
    count: usize,
) -> anyhow::Result<()> {
    for n in 0..count as u32 {
        let drawn = tokio::task::spawn_blocking(move || crate::images::draw::still_life(seed + n))
            .await??;
        let image = images.save(drawn).await?;
        house.add_image(lot, image, true).await?;
    }
    Ok(())
}

/// The most the bot pays for a lot: two to four times its starting price, fixed per lot, so a
/// person who wants it enough can win it.
fn bot_ceiling(lot: &crate::domain::Lot) -> Cents {
    let factor = 2 + i64::from(lot.id().as_bytes()[15] % 3);
    Cents::from_stored(lot.starting_price().get().saturating_mul(factor))
}

/// The bot: a person who takes the lead on a lot is outbid a few seconds later (from a
/// maximum, so the site's proxy bidding answers them after that), up to the lot's ceiling; and
/// every few seconds one demo bidder bids the minimum on a random open lot.
async fn bot(store: Store, house: AuctionHouse, bidders: Vec<UserRef>) {
    if bidders.is_empty() {
        return;
    }
    let is_bot = |id: uuid::Uuid| bidders.iter().any(|b| b.id == id);
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        ticks += 1;
        let Ok(lots) = store.lots_by_status(LotStatus::Open, 100).await else {
            continue;
        };
        let led_by_a_person = lots.iter().find(|l| {
            l.leader().as_ref().is_some_and(|leader| !is_bot(leader.id))
                && l.min_next_bid() <= bot_ceiling(l)
        });
        let (lot, max) = match led_by_a_person {
            Some(lot) => (lot, Some(bot_ceiling(lot))),
            None if ticks.is_multiple_of(3) && !lots.is_empty() => {
                (&lots[random_below(lots.len() as u32) as usize], None)
            }
            None => continue,
        };
        let bidder = &bidders[random_below(bidders.len() as u32) as usize];
        if lot.leader().as_ref().is_some_and(|l| l.id == bidder.id) || lot.seller().id == bidder.id
        {
            continue;
        }
        let request = BidRequest {
            bidder: bidder.clone(),
            amount: Some(lot.min_next_bid()),
            max: max.filter(|m| *m >= lot.min_next_bid()),
        };
        if let Err(e) = house.bid(lot.id(), request).await {
            tracing::debug!(error = %e, "demo bot bid refused");
        }
    }
}
