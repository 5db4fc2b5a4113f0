//! Integration tests: the real server on a free port, a fresh SQLite file, a real HTTP client.
//! One binary so everything links once.

mod access;
mod accounts;
mod backup;
mod bad_input;
mod bidding;
mod browser;
mod browser_catalogue;
mod browser_notices;
mod catalogue_pages;
mod closing;
mod concurrency;
mod crashes;
mod edges;
mod faults;
mod helpers;
mod https;
mod idempotency;
mod images;
mod layers;
mod live;
mod live_connections;
mod load;
mod lots;
mod nginx;
mod notices;
mod pages;
mod proxy;
mod raw_http;
mod sales;
mod search;
mod shutdown;
mod slow_bodies;
mod sse;
mod tls;
