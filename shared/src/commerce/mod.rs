//! The merchant's domain: products, categories, orders, blacklists and their rules,
//! feedback and queries. Each type is both what is stored and what the API shows,
//! with the seed's field names.

pub mod blacklist;
pub mod category;
pub mod money;
pub mod order;
pub mod product;
pub mod support;

pub use blacklist::{Blacklist, BlacklistRule, BlacklistType, Customer, RuleAction, Verdict};
pub use category::Category;
pub use money::{Amount, Currency, Gateway};
pub use order::{Order, OrderStatus};
pub use product::{Product, ProductType, Stock};
pub use support::{Feedback, Query, QueryStatus};
