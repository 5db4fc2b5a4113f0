//! Who is at the other end: the socket's address, or `X-Forwarded-For` when (and only when)
//! the socket is a proxy named in `GAVEL_TRUSTED_PROXIES`.

use crate::config::Settings;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::{Ready, ready};
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};

/// The client's address, as far as this site can trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Reads a proxy list: addresses or networks, separated by commas or spaces.
pub fn parse_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an address or a network (like 10.0.0.0/8)"))
        })
        .collect()
}

/// The rightmost address in `X-Forwarded-For` that is not one of our proxies: what the
/// first trusted proxy saw. Entries left of it could be written by anyone.
pub fn client_of(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

impl FromRequest for ClientAddr {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let trusted = req
            .app_data::<web::Data<Settings>>()
            .map(|s| s.trusted_proxies.as_slice())
            .unwrap_or(&[]);
        // Several headers are joined: the last one is the nearest proxy's.
        let joined: Option<String> = {
            let values: Vec<&str> = req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(","))
        };
        ready(Ok(ClientAddr(client_of(peer, joined.as_deref(), trusted))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let trusted = parse_proxies("127.0.0.1, 10.0.0.0/8").unwrap_or_default();
        assert_eq!(trusted.len(), 2);
        // Anyone else's header is ignored.
        assert_eq!(
            client_of(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Through our proxy: the address it saw.
        assert_eq!(
            client_of(ip("127.0.0.1"), Some("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // A client cannot pick its address by prepending one.
        assert_eq!(
            client_of(
                ip("127.0.0.1"),
                Some("6.6.6.6, 198.51.100.7, 10.1.2.3"),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_of(ip("127.0.0.1"), Some("garbage"), &trusted),
            ip("127.0.0.1")
        );
        assert!(parse_proxies("10.0.0.0/33").is_err());
        assert!(parse_proxies("").is_ok_and(|p| p.is_empty()));
    }
}
