//! Listing parameters shared by both surfaces: search text, sort order, page.

use crate::error::Error;

/// What a user listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    CreatedAt,
    UpdatedAt,
    Email,
    Username,
    FirstName,
    LastName,
}

/// What a group listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupSort {
    #[default]
    CreatedAt,
    UpdatedAt,
    Name,
}

/// Most fields one `order` may list.
pub const MAX_SORT_FIELDS: usize = 3;

/// A sort field and direction, then more of them (`then`); the last ties
/// are broken by id, so pages are stable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sort<K> {
    pub key: K,
    pub descending: bool,
    /// Further fields, in order, each with its direction.
    pub then: Vec<(K, bool)>,
}

impl<K: Copy> Sort<K> {
    /// `field` or `-field` (descending), the field one of `fields`; absent
    /// means `default` (an empty value is refused like any unknown field).
    pub fn parse(param: &str, raw: Option<&str>, default: K, fields: &[(&str, K)]) -> Result<Self, Error> {
        let Some(raw) = raw else {
            return Ok(Sort { key: default, descending: false, then: Vec::new() });
        };
        let (key, descending) = Self::field(param, raw, fields)?;
        Ok(Sort { key, descending, then: Vec::new() })
    }

    /// A comma-separated list of up to [`MAX_SORT_FIELDS`] such fields
    /// (`lastName,-created`); a field named again adds nothing.
    pub fn parse_list(param: &str, raw: Option<&str>, default: K, fields: &[(&str, K)]) -> Result<Self, Error>
    where
        K: PartialEq,
    {
        let Some(raw) = raw else {
            return Ok(Sort { key: default, descending: false, then: Vec::new() });
        };
        let parts: Vec<&str> = raw.split(',').collect();
        if parts.len() > MAX_SORT_FIELDS {
            return Err(Error::validation(format!("{param} takes at most {MAX_SORT_FIELDS} fields")).detail("field", param.into()));
        }
        let mut keys: Vec<(K, bool)> = Vec::new();
        for part in parts {
            let (key, descending) = Self::field(param, part, fields)?;
            if !keys.iter().any(|(k, _)| *k == key) {
                keys.push((key, descending));
            }
        }
        let (key, descending) = keys.remove(0);
        Ok(Sort { key, descending, then: keys })
    }

    fn field(param: &str, raw: &str, fields: &[(&str, K)]) -> Result<(K, bool), Error> {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let key = fields.iter().find(|(n, _)| *n == name).map(|(_, k)| *k).ok_or_else(|| {
            let mut allowed: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            allowed.dedup();
            Error::validation(format!("{param} must be one of {} (prefix '-' for descending)", allowed.join(", ")))
                .detail("field", param.into())
        })?;
        Ok((key, descending))
    }

    /// The same fields, every direction flipped: the exact reverse order
    /// (ties end on the id, which flips too; on both backends NULLs that
    /// come first ascending come last descending).
    pub fn reversed(&self) -> Self {
        Sort { key: self.key, descending: !self.descending, then: self.then.iter().map(|(k, d)| (*k, !*d)).collect() }
    }

    /// Every field with its direction, the first one first.
    pub fn keys(&self) -> impl Iterator<Item = (K, bool)> + '_ {
        std::iter::once((self.key, self.descending)).chain(self.then.iter().copied())
    }
}

/// A substring filter by the name key ([`super::normalize_key`]), as a LIKE
/// pattern (with `\` escaping `%`, `_` and itself) over the key columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    /// `None` for no filter (absent or empty); 400 for control characters.
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Option<Self>, Error> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        super::check_plain_text(field, raw)?;
        let mut pattern = String::with_capacity(raw.len() + 2);
        pattern.push('%');
        for c in super::normalize_key(raw).chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Ok(Some(Search(pattern)))
    }

    pub fn pattern(&self) -> &str {
        &self.0
    }
}

/// A window of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

impl Page {
    /// Checks `limit` (1..=max) and `offset` (≥ 0), naming the parameters as
    /// the surface spells them.
    pub fn new(offset: (&str, Option<i64>), limit: (&str, Option<i64>), default_limit: i64, max: i64) -> Result<Self, Error> {
        let l = limit.1.unwrap_or(default_limit);
        if !(1..=max).contains(&l) {
            return Err(Error::validation(format!("{} must be between 1 and {max}", limit.0)).detail("field", limit.0.into()));
        }
        let o = offset.1.unwrap_or(0);
        if o < 0 {
            return Err(Error::validation(format!("{} must not be negative", offset.0)).detail("field", offset.0.into()));
        }
        Ok(Page { offset: o, limit: l })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_escapes_like_wildcards() {
        assert_eq!(Search::parse("q", Some("A_b%c\\")).unwrap().unwrap().pattern(), "%a\\_b\\%c\\\\%");
        assert_eq!(Search::parse("q", Some("ÉLODIE")).unwrap().unwrap().pattern(), "%élodie%");
        assert!(Search::parse("q", Some("")).unwrap().is_none());
        assert!(Search::parse("q", Some("a\0")).is_err());
    }

    #[test]
    fn sort_parses_direction_and_rejects_unknown_fields() {
        let fields = [("name", GroupSort::Name), ("created_at", GroupSort::CreatedAt)];
        assert_eq!(
            Sort::parse("sort", Some("-name"), GroupSort::CreatedAt, &fields).unwrap(),
            Sort { key: GroupSort::Name, descending: true, then: vec![] }
        );
        assert_eq!(Sort::parse("sort", None, GroupSort::CreatedAt, &fields).unwrap().key, GroupSort::CreatedAt);
        assert!(Sort::parse("sort", Some("id"), GroupSort::Name, &fields).is_err());
        assert!(Sort::parse("sort", Some(""), GroupSort::Name, &fields).is_err());
        let list = Sort::parse_list("order", Some("name,-created_at"), GroupSort::Name, &fields).unwrap();
        assert_eq!(list.keys().collect::<Vec<_>>(), vec![(GroupSort::Name, false), (GroupSort::CreatedAt, true)]);
        assert_eq!(Sort::parse_list("order", Some("name,-name"), GroupSort::Name, &fields).unwrap().then, vec![]);
        assert!(Sort::parse_list("order", Some("name,"), GroupSort::Name, &fields).is_err());
    }
}
