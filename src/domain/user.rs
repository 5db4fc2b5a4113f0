//! Who people are on the site: names, passwords and roles.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserInputError {
    #[error("a username is 3 to 32 characters of a-z, 0-9, _ and -")]
    InvalidUsername,
    #[error("a password is 8 to 128 characters")]
    InvalidPassword,
    #[error("the role must be bidder or seller")]
    InvalidRole,
}

impl Username {
    /// Lowercases first, so names are unique ignoring case.
    pub fn parse(input: &str) -> Result<Self, UserInputError> {
        let name = input.trim().to_lowercase();
        let ok_len = (3..=32).contains(&name.chars().count());
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok_len && ok_chars {
            Ok(Username(name))
        } else {
            Err(UserInputError::InvalidUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed; it only ever leaves this type as an Argon2id hash.
pub struct Password(String);

impl Password {
    pub fn parse(input: &str) -> Result<Self, UserInputError> {
        if (8..=128).contains(&input.chars().count()) {
            Ok(Password(input.to_owned()))
        } else {
            Err(UserInputError::InvalidPassword)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Seller,
    Bidder,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Seller => "seller",
            Role::Bidder => "bidder",
        }
    }

    /// Roles anyone may give themselves when registering.
    pub fn parse_self_service(input: &str) -> Result<Self, UserInputError> {
        match input.trim().to_lowercase().as_str() {
            "bidder" => Ok(Role::Bidder),
            "seller" => Ok(Role::Seller),
            _ => Err(UserInputError::InvalidRole),
        }
    }

    pub fn can_sell(self) -> bool {
        matches!(self, Role::Seller | Role::Admin)
    }

    pub fn can_bid(self) -> bool {
        matches!(self, Role::Bidder | Role::Seller)
    }
}

impl FromStr for Role {
    type Err = UserInputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "seller" => Ok(Role::Seller),
            "bidder" => Ok(Role::Bidder),
            _ => Err(UserInputError::InvalidRole),
        }
    }
}

/// A user as the rest of the site refers to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRef {
    pub id: Uuid,
    pub username: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(
            Username::parse("Alice_1").map(|u| u.0),
            Ok("alice_1".into())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse("a".repeat(32).as_str()).is_ok());
        assert!(Username::parse("bad name").is_err());
        assert!(Username::parse("émile").is_err());
        assert!(Username::parse("x-y_z").is_ok());
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"p".repeat(128)).is_ok());
        assert!(Password::parse(&"p".repeat(129)).is_err());
    }

    #[test]
    fn self_service_roles_exclude_admin() {
        assert_eq!(Role::parse_self_service("Seller"), Ok(Role::Seller));
        assert!(Role::parse_self_service("admin").is_err());
        assert!(!Role::Admin.can_bid());
        assert!(Role::Seller.can_bid() && Role::Seller.can_sell());
        assert!(!Role::Bidder.can_sell());
    }
}
