//! Pagination and sorting requests shared by every list endpoint.

use serde::{Deserialize, Serialize};

/// Default and maximum page sizes.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// A page request (1-based `page`, `limit` rows per page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    /// Build from optional query values, clamping to sane bounds; an explicit
    /// 0 or over-large value is an error so that clients learn the limits.
    pub fn new(page: Option<u32>, limit: Option<u32>) -> Result<Self, String> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if page == 0 {
            return Err("page starts at 1".into());
        }
        if limit == 0 || limit > MAX_LIMIT {
            return Err(format!("limit must be between 1 and {MAX_LIMIT}"));
        }
        Ok(Self { page, limit })
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
}

/// The `meta` block of a paged response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PageMeta {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_pages: u64,
}

impl PageMeta {
    pub fn new(req: PageRequest, total: u64) -> Self {
        let total_pages = total.div_ceil(u64::from(req.limit));
        Self {
            page: req.page,
            limit: req.limit,
            total,
            total_pages,
        }
    }
}

/// Sort direction parsed from `sort=field` / `sort=-field`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Parse `sort` against the fields a list allows; returns the column name
/// to use (from the allow-list, never the raw input) and the direction.
pub fn parse_sort<'a>(
    sort: Option<&str>,
    allowed: &[(&str, &'a str)],
    default: (&'a str, Direction),
) -> Result<(&'a str, Direction), String> {
    let Some(raw) = sort.filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    let (name, dir) = match raw.strip_prefix('-') {
        Some(n) => (n, Direction::Desc),
        None => (raw, Direction::Asc),
    };
    allowed
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(_, column)| (*column, dir))
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|(f, _)| *f).collect();
            // Never echo the submitted value: it may be anything, even PHI.
            format!("cannot sort by that field; allowed: {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_bounds() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(None, Some(101)).is_err());
        let p = PageRequest::new(Some(3), Some(10)).unwrap();
        assert_eq!(p.offset(), 20);
        assert_eq!(PageMeta::new(p, 21).total_pages, 3);
        assert_eq!(PageMeta::new(p, 0).total_pages, 0);
    }

    #[test]
    fn sort_uses_the_allow_list_only() {
        let allowed = [("name", "name"), ("created", "created_at")];
        let d = ("name", Direction::Asc);
        assert_eq!(
            parse_sort(Some("-created"), &allowed, d),
            Ok(("created_at", Direction::Desc))
        );
        assert!(parse_sort(Some("name; DROP TABLE x"), &allowed, d).is_err());
        assert_eq!(parse_sort(None, &allowed, d), Ok(d));
    }
}
