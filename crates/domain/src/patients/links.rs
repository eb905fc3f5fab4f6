//! Family links between patients (parent–child, legal guardian) and the
//! rules that follow from them. No I/O.
//!
//! Invariants:
//! - A link joins two different patients: a responsible one (parent or
//!   guardian) and a dependant. Parent links never form a cycle (nobody is
//!   their own ancestor).
//! - A parent's or a minor's guardian's portal access to the dependant's
//!   record holds below the jurisdiction's adolescent-confidentiality age;
//!   from it, only with the adolescent's recorded consent; from the age of
//!   majority, not at all. A legal guardian of a dependent adult is not
//!   limited by age. An unknown birth date means no access (minority
//!   cannot be shown).

use crate::governance::jurisdiction::GuardianAges;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// What a link says about its two patients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The responsible patient is the dependant's parent.
    Parent,
    /// The responsible patient is the dependant's legal guardian (of a
    /// minor, or of a dependent adult).
    Guardian,
}

impl LinkKind {
    pub const ALL: [LinkKind; 2] = [LinkKind::Parent, LinkKind::Guardian];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Parent => "parent",
            LinkKind::Guardian => "guardian",
        }
    }

    pub fn parse(s: &str) -> Option<LinkKind> {
        LinkKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What the portal access rule needs to know about one link.
#[derive(Clone, Copy, Debug)]
pub struct GuardianLink {
    pub kind: LinkKind,
    /// A court-appointed guardian of an adult who cannot decide alone.
    pub dependent_adult: bool,
    /// The adolescent consented to the responsible patient's access.
    pub adolescent_consented: bool,
    pub dependant_birth_date: Option<NaiveDate>,
}

/// Why the portal refuses a responsible patient the dependant's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardianDeny {
    /// The dependant reached the adolescent-confidentiality age and has
    /// not consented.
    AdolescentConfidentiality,
    /// The dependant is an adult.
    Adult,
    /// The dependant's birth date is unknown.
    UnknownAge,
}

impl GuardianDeny {
    pub fn code(self) -> &'static str {
        match self {
            GuardianDeny::AdolescentConfidentiality => "adolescent_confidentiality",
            GuardianDeny::Adult => "dependant_is_adult",
            GuardianDeny::UnknownAge => "unknown_age",
        }
    }
}

/// Whole years from `birth` to `today` (None before birth).
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> Option<u32> {
    today.years_since(birth)
}

/// May the responsible patient of `link` see the dependant's record in the
/// portal on `today`?
pub fn guardian_portal_access(
    link: &GuardianLink,
    ages: GuardianAges,
    today: NaiveDate,
) -> Result<(), GuardianDeny> {
    if link.kind == LinkKind::Guardian && link.dependent_adult {
        return Ok(());
    }
    let age = link
        .dependant_birth_date
        .and_then(|b| age_on(b, today))
        .ok_or(GuardianDeny::UnknownAge)?;
    if age >= ages.majority_age {
        Err(GuardianDeny::Adult)
    } else if age >= ages.confidentiality_age && !link.adolescent_consented {
        Err(GuardianDeny::AdolescentConfidentiality)
    } else {
        Ok(())
    }
}

/// Would the parent link `parent -> child` close a cycle among the
/// existing `(parent, child)` links (or link a patient to themself)?
/// `P` is whatever names a patient (their id).
pub fn parent_link_cycles<P: Copy + Eq + Hash>(existing: &[(P, P)], parent: P, child: P) -> bool {
    if parent == child {
        return true;
    }
    let mut children: HashMap<P, Vec<P>> = HashMap::new();
    for (p, c) in existing {
        children.entry(*p).or_default().push(*c);
    }
    // A cycle exactly when `parent` is already a descendant of `child`.
    let mut seen = HashSet::new();
    let mut stack = vec![child];
    while let Some(n) = stack.pop() {
        if n == parent {
            return true;
        }
        if seen.insert(n) {
            stack.extend(children.get(&n).into_iter().flatten().copied());
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AGES: GuardianAges = GuardianAges {
        confidentiality_age: 14,
        majority_age: 18,
    };

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn link(birth: Option<NaiveDate>, consented: bool) -> GuardianLink {
        GuardianLink {
            kind: LinkKind::Parent,
            dependent_adult: false,
            adolescent_consented: consented,
            dependant_birth_date: birth,
        }
    }

    #[test]
    fn access_by_age_table() {
        let today = d(2026, 11, 26);
        use GuardianDeny::*;
        let cases: [(Option<NaiveDate>, bool, Result<(), GuardianDeny>); 9] = [
            (Some(d(2020, 1, 1)), false, Ok(())),
            // The day before the 14th birthday, and the day itself.
            (Some(d(2012, 11, 27)), false, Ok(())),
            (Some(d(2012, 11, 26)), false, Err(AdolescentConfidentiality)),
            (Some(d(2012, 11, 26)), true, Ok(())),
            (Some(d(2009, 1, 1)), true, Ok(())),
            (Some(d(2008, 11, 26)), true, Err(Adult)),
            (Some(d(1990, 1, 1)), false, Err(Adult)),
            (None, false, Err(UnknownAge)),
            (Some(d(2027, 1, 1)), false, Err(UnknownAge)),
        ];
        for (birth, consented, want) in cases {
            assert_eq!(
                guardian_portal_access(&link(birth, consented), AGES, today),
                want,
                "{birth:?} {consented}"
            );
        }
        // A dependent adult's legal guardian keeps access at any age.
        let adult = GuardianLink {
            kind: LinkKind::Guardian,
            dependent_adult: true,
            ..link(Some(d(1960, 1, 1)), false)
        };
        assert_eq!(guardian_portal_access(&adult, AGES, today), Ok(()));
        // A parent link never counts as a dependent-adult guardianship.
        let parent = GuardianLink {
            dependent_adult: true,
            ..link(Some(d(1960, 1, 1)), false)
        };
        assert_eq!(guardian_portal_access(&parent, AGES, today), Err(Adult));
    }

    #[test]
    fn kinds_parse_back() {
        for k in LinkKind::ALL {
            assert_eq!(LinkKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(LinkKind::parse("uncle"), None);
    }

    #[test]
    fn cycles_are_found() {
        let links = vec![("grandma", "mum"), ("mum", "kid"), ("mum", "kid2")];
        assert!(parent_link_cycles(&links, "kid", "grandma"));
        assert!(parent_link_cycles(&links, "kid", "mum"));
        assert!(parent_link_cycles(&links, "kid", "kid"));
        assert!(!parent_link_cycles(&links, "dad", "kid"));
        assert!(!parent_link_cycles(&links, "kid", "kid2"));
    }

    proptest! {
        /// Below the confidentiality age access holds; from majority it
        /// never does; in between it follows consent exactly.
        #[test]
        fn access_follows_the_age_bands(age_days in 0i64..(30 * 366), consented: bool) {
            let today = d(2026, 6, 15);
            let birth = today - chrono::Duration::days(age_days);
            let got = guardian_portal_access(&link(Some(birth), consented), AGES, today);
            let age = age_on(birth, today).unwrap();
            if age < AGES.confidentiality_age {
                prop_assert_eq!(got, Ok(()));
            } else if age >= AGES.majority_age {
                prop_assert_eq!(got, Err(GuardianDeny::Adult));
            } else {
                prop_assert_eq!(got.is_ok(), consented);
            }
        }

        /// Adding a link the rule accepts keeps the graph acyclic.
        #[test]
        fn accepted_links_keep_the_graph_acyclic(edges in proptest::collection::vec((0u8..8, 0u8..8), 0..20)) {
            let mut links: Vec<(u8, u8)> = Vec::new();
            for (p, c) in edges {
                if !parent_link_cycles(&links, p, c) {
                    links.push((p, c));
                }
            }
            // Acyclic: Kahn's algorithm removes every node.
            let mut indeg: HashMap<u8, usize> = HashMap::new();
            for (p, c) in &links {
                indeg.entry(*p).or_default();
                *indeg.entry(*c).or_default() += 1;
            }
            let mut ready: Vec<u8> = indeg.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
            let mut removed = 0;
            while let Some(n) = ready.pop() {
                removed += 1;
                for (p, c) in &links {
                    if *p == n {
                        let d = indeg.get_mut(c).unwrap();
                        *d -= 1;
                        if *d == 0 {
                            ready.push(*c);
                        }
                    }
                }
            }
            prop_assert_eq!(removed, indeg.len());
        }
    }
}
