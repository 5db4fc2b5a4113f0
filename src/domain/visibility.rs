//! Which lots a viewer may see, and which of their fields: decided here once for pages, the
//! API and the live streams.

use super::{Lot, Role};
use uuid::Uuid;

/// Who is looking: their id and role, or `None` for someone not signed in (and for streams,
/// which carry only what anyone may see).
pub type Viewer = Option<(Uuid, Role)>;

/// Whether the viewer sees the lot's private fields (reserve, reject reason): its seller and
/// the admins.
pub fn is_privileged(lot: &Lot, viewer: Viewer) -> bool {
    viewer.is_some_and(|(id, role)| role == Role::Admin || id == lot.seller().id)
}

/// Pending and rejected offers exist only for their seller and the admins.
pub fn is_visible(lot: &Lot, viewer: Viewer) -> bool {
    lot.status().is_public() || is_privileged(lot, viewer)
}
