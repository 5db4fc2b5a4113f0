//! A lot's place in the catalogue: its sale, its category's name and its photographs.

use super::{Change, Lot, LotStatus, StateError, Time};
use crate::domain::catalogue::{ImageRef, MAX_IMAGES, SaleRef};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefused {
    #[error("a lot has at most 12 images")]
    TooMany,
    #[error("images can be changed only while the offer is pending")]
    NotPending,
    #[error("no such image on this lot")]
    NoSuchImage,
}

impl Lot {
    /// Approved into a sale that has not started: it waits, numbered, until the sale opens.
    pub fn schedule_in(&mut self, sale: SaleRef, number: i64) -> Result<Vec<Change>, StateError> {
        if self.status != LotStatus::Pending {
            return Err(StateError::NotPending);
        }
        self.status = LotStatus::Scheduled;
        self.sale = Some((sale, number));
        Ok(vec![])
    }

    /// Its sale started: open until `ends_at`, its place in the sale's closing order.
    pub fn open_in_sale(&mut self, ends_at: Time) -> Result<Vec<Change>, StateError> {
        if self.status != LotStatus::Scheduled {
            return Err(StateError::NotScheduled);
        }
        self.status = LotStatus::Open;
        self.ends_at = Some(ends_at);
        Ok(vec![Change::Opened])
    }

    /// Its category was renamed (the slug stays).
    pub fn rename_category(&mut self, slug: &str, name: &str) {
        if let Some(c) = self.category.as_mut().filter(|c| c.slug == slug) {
            c.name = name.to_owned();
        }
    }

    /// Adds a photograph at the end. Sellers change their photographs while the offer is
    /// pending; admins may until the lot is over.
    pub fn add_image(&mut self, image: ImageRef, by_admin: bool) -> Result<(), ImageRefused> {
        self.may_change_images(by_admin)?;
        if self.images.len() >= MAX_IMAGES {
            return Err(ImageRefused::TooMany);
        }
        let mut images = self.images.to_vec();
        images.push(image);
        self.images = Arc::from(images);
        Ok(())
    }

    pub fn remove_image(&mut self, id: Uuid, by_admin: bool) -> Result<(), ImageRefused> {
        self.may_change_images(by_admin)?;
        if !self.images.iter().any(|i| i.id == id) {
            return Err(ImageRefused::NoSuchImage);
        }
        self.images = self.images.iter().filter(|i| i.id != id).cloned().collect();
        Ok(())
    }

    fn may_change_images(&self, by_admin: bool) -> Result<(), ImageRefused> {
        let open_to_admins = matches!(
            self.status,
            LotStatus::Pending | LotStatus::Scheduled | LotStatus::Open
        );
        match (self.status, by_admin) {
            (LotStatus::Pending, _) => Ok(()),
            (_, true) if open_to_admins => Ok(()),
            _ => Err(ImageRefused::NotPending),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::{cents, t, user};
    use crate::domain::{NewLot, lot::BidRejected, lot::BidRequest};

    fn pending() -> Lot {
        let offer = NewLot::parse("Lamp", "", Ok(cents(1000)), None, 3600).expect("valid");
        Lot::new_pending(Uuid::now_v7(), user("sam"), offer, t(0))
    }

    fn image(n: u32) -> ImageRef {
        ImageRef {
            id: Uuid::now_v7(),
            hash: format!("{n:064x}"),
            width: 800,
            height: 600,
            thumb_hash: format!("{:064x}", n + 1000),
            thumb_width: 400,
            thumb_height: 300,
        }
    }

    #[test]
    fn a_scheduled_lot_takes_no_bid_until_its_sale_opens_it() {
        let mut lot = pending();
        let sale = SaleRef {
            id: Uuid::now_v7(),
            title: "Spring sale".into(),
        };
        assert_eq!(lot.schedule_in(sale.clone(), 3), Ok(vec![]));
        assert_eq!(lot.status(), LotStatus::Scheduled);
        assert_eq!(lot.lot_number(), Some(3));
        let bid = BidRequest {
            bidder: user("bo"),
            amount: Some(cents(1000)),
            max: None,
        };
        assert_eq!(lot.check_bid(&bid, t(1)), Err(BidRejected::LotNotOpen));
        assert_eq!(lot.approve(t(1)), Err(StateError::NotPending));
        assert_eq!(lot.open_in_sale(t(500)), Ok(vec![Change::Opened]));
        assert_eq!(lot.ends_at(), Some(t(500)));
        assert!(lot.check_bid(&bid, t(2)).is_ok());
        assert_eq!(lot.open_in_sale(t(600)), Err(StateError::NotScheduled));
        assert_eq!(lot.schedule_in(sale, 4), Err(StateError::NotPending));
    }

    #[test]
    fn sellers_change_images_while_pending_admins_until_the_end() {
        let mut lot = pending();
        for n in 0..12 {
            lot.add_image(image(n), false).expect("valid");
        }
        assert_eq!(lot.add_image(image(99), true), Err(ImageRefused::TooMany));
        let first = lot.images()[0].id;
        lot.remove_image(first, false).expect("valid");
        assert_eq!(lot.images().len(), 11);
        assert_eq!(
            lot.remove_image(first, false),
            Err(ImageRefused::NoSuchImage)
        );
        lot.approve(t(0)).expect("valid");
        assert_eq!(
            lot.add_image(image(50), false),
            Err(ImageRefused::NotPending)
        );
        assert_eq!(lot.add_image(image(50), true), Ok(()));
        lot.close(t(10)).expect("valid");
        assert_eq!(
            lot.add_image(image(51), true),
            Err(ImageRefused::NotPending)
        );
    }
}
