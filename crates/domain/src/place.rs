//! The address book (标准地址库): named places with a point, so that a report that only says
//! where it is in words — a 12345 call, "文昌社区南门口" — is routed like one with coordinates.
//!
//! A city loads its standard addresses, buildings and landmarks; each entry has a display name
//! and a *key*, the name reduced to what identifies it (letters, digits and Chinese characters,
//! lower case, full-width forms folded), so that "文昌社区 南门" and "文昌社区南门" are one entry.
//! An address text matches the entry whose key equals its key, else the longest key contained in
//! it (at least [`MIN_CONTAINED_CHARS`] characters); two different entries of that length are
//! ambiguous and match nothing.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::ValueError;
use crate::ids::PlaceId;
use crate::jurisdiction::AreaPath;
use crate::location::Coordinate;
use crate::routing::GridHit;
use crate::text::Name;

/// The shortest key that may match inside a longer address: two characters ("文昌") name too
/// many places to route by.
pub const MIN_CONTAINED_CHARS: usize = 3;

/// The longest key an entry may have: a door-plate address with its building and unit fits.
pub const MAX_KEY_CHARS: usize = 40;

/// The identifying form of a place name or an address text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaceKey(String);

impl PlaceKey {
    /// The key of `raw`, or `None` when fewer than two identifying characters remain.
    pub fn of(raw: &str) -> Option<Self> {
        Self::fragment(raw).filter(|k| k.chars() >= 2)
    }

    /// A piece of a key to search for, as a picker sends while typing: one identifying
    /// character is enough.
    pub fn fragment(raw: &str) -> Option<Self> {
        let key: String = raw
            .chars()
            .map(fold_width)
            .flat_map(char::to_lowercase)
            .filter(|c| c.is_alphanumeric())
            .collect();
        (!key.is_empty()).then_some(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }

    /// Every key an entry could have and still be matched in this text: the distinct pieces of
    /// [`MIN_CONTAINED_CHARS`] to [`MAX_KEY_CHARS`] characters, and the whole text if it is
    /// short enough to be a key. Looking these up by the unique key index finds the candidates
    /// without scanning the book.
    pub fn pieces(&self) -> BTreeSet<&str> {
        let bounds: Vec<usize> = self
            .0
            .char_indices()
            .map(|(i, _)| i)
            .chain([self.0.len()])
            .collect();
        let n = bounds.len() - 1;
        let mut pieces = BTreeSet::new();
        for start in 0..n {
            for len in MIN_CONTAINED_CHARS..=MAX_KEY_CHARS.min(n - start) {
                pieces.insert(&self.0[bounds[start]..bounds[start + len]]);
            }
        }
        if n <= MAX_KEY_CHARS {
            pieces.insert(self.0.as_str());
        }
        pieces
    }
}

impl fmt::Display for PlaceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Full-width ASCII (ＡＢＣ１２３) and the ideographic space to their ASCII forms.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// What kind of place an entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaceKind {
    /// A door-plate address (门牌地址), e.g. 文昌路18号.
    Address,
    /// A residential building or compound (楼栋、小区).
    Building,
    /// A landmark: a gate, square, market, school (地标).
    Landmark,
    /// A community as a whole (社区), placed at a point inside it.
    Community,
}

impl PlaceKind {
    pub const ALL: &'static [PlaceKind] = &[
        PlaceKind::Address,
        PlaceKind::Building,
        PlaceKind::Landmark,
        PlaceKind::Community,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Address => "address",
            PlaceKind::Building => "building",
            PlaceKind::Landmark => "landmark",
            PlaceKind::Community => "community",
        }
    }
}

impl FromStr for PlaceKind {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        PlaceKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ValueError::new("kind", "must be address, building, landmark or community")
            })
    }
}

/// An entry of the address book, routed to its grid when it was entered.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: PlaceId,
    pub key: PlaceKey,
    pub name: Name,
    pub kind: PlaceKind,
    /// WGS-84.
    pub point: Coordinate,
    pub grid: GridHit,
    pub area: AreaPath,
    /// Retired entries no longer place new reports; cases they placed keep pointing at them.
    pub active: bool,
}

/// How an address text matched the address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressMatch<T> {
    /// The text is the entry's name (up to spacing, punctuation, width and case).
    Exact(T),
    /// The text contains the entry's name, and no other entry's name of that length or longer.
    Contained(T),
    /// Several entries of the same, longest length are contained: the text does not say which.
    Ambiguous(Vec<T>),
    NoMatch,
}

/// The entry an address text names, among `candidates` (key and entry). Keys are unique.
pub fn best_match<T: Clone>(query: &PlaceKey, candidates: &[(PlaceKey, T)]) -> AddressMatch<T> {
    if let Some((_, t)) = candidates.iter().find(|(k, _)| k == query) {
        return AddressMatch::Exact(t.clone());
    }
    let contained: Vec<&(PlaceKey, T)> = candidates
        .iter()
        .filter(|(k, _)| k.chars() >= MIN_CONTAINED_CHARS && query.0.contains(&k.0))
        .collect();
    let Some(longest) = contained.iter().map(|(k, _)| k.chars()).max() else {
        return AddressMatch::NoMatch;
    };
    let mut best: Vec<T> = contained
        .into_iter()
        .filter(|(k, _)| k.chars() == longest)
        .map(|(_, t)| t.clone())
        .collect();
    if best.len() == 1 {
        AddressMatch::Contained(best.remove(0))
    } else {
        AddressMatch::Ambiguous(best)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(s: &str) -> PlaceKey {
        PlaceKey::of(s).unwrap()
    }

    fn book(names: &[&str]) -> Vec<(PlaceKey, usize)> {
        names.iter().enumerate().map(|(i, n)| (key(n), i)).collect()
    }

    #[test]
    fn keys_ignore_spacing_punctuation_width_and_case() {
        assert_eq!(key("文昌社区 南门").as_str(), "文昌社区南门");
        assert_eq!(
            key("文昌路１８号（南门西侧）").as_str(),
            "文昌路18号南门西侧"
        );
        assert_eq!(key("Ａ座 Block-B").as_str(), "a座blockb");
        assert_eq!(key("文昌　社区"), key("文昌社区"));
        assert_eq!(PlaceKey::of("  。，！ "), None);
        assert_eq!(PlaceKey::of("门"), None);
        assert_eq!(PlaceKey::fragment("（门）").unwrap().as_str(), "门");
    }

    #[test]
    fn exact_beats_contained_and_longest_contained_wins() {
        let b = book(&["文昌社区", "文昌社区南门", "鼓楼社区"]);
        assert_eq!(best_match(&key("文昌社区南门"), &b), AddressMatch::Exact(1));
        assert_eq!(
            best_match(&key("海州区文昌社区南门口那个广场"), &b),
            AddressMatch::Contained(1)
        );
        assert_eq!(
            best_match(&key("文昌社区北边"), &b),
            AddressMatch::Contained(0)
        );
        assert_eq!(best_match(&key("建设社区东门"), &b), AddressMatch::NoMatch);
    }

    #[test]
    fn two_equally_long_names_are_ambiguous() {
        let b = book(&["文昌社区", "鼓楼社区"]);
        assert_eq!(
            best_match(&key("文昌社区和鼓楼社区之间的路口"), &b),
            AddressMatch::Ambiguous(vec![0, 1])
        );
    }

    #[test]
    fn short_names_match_only_exactly() {
        let b = book(&["文昌", "菜场"]);
        assert_eq!(best_match(&key("文昌"), &b), AddressMatch::Exact(0));
        assert_eq!(
            best_match(&key("文昌路菜场门口"), &b),
            AddressMatch::NoMatch
        );
    }

    #[test]
    fn pieces_are_every_matchable_key() {
        let k = key("文昌社区南门");
        let pieces = k.pieces();
        // 4 + 3 + 2 + 1 pieces of 3–6 characters.
        assert_eq!(pieces.len(), 10);
        for p in ["文昌社", "社区南门", "文昌社区南门", "南门"] {
            assert_eq!(pieces.contains(p), p.chars().count() >= 3, "{p}");
        }
        // A two-character text can only be matched exactly.
        assert_eq!(
            key("菜场").pieces().into_iter().collect::<Vec<_>>(),
            ["菜场"]
        );
        // Repeated pieces are looked up once; long texts stop at the longest key.
        assert_eq!(key("aaaaa").pieces().len(), 3);
        let long = key(&"文".repeat(100));
        assert_eq!(long.pieces().len(), MAX_KEY_CHARS - MIN_CONTAINED_CHARS + 1);
    }

    #[test]
    fn kinds_round_trip() {
        for k in PlaceKind::ALL {
            assert_eq!(k.as_str().parse::<PlaceKind>().unwrap(), *k);
        }
        assert_eq!("street".parse::<PlaceKind>().unwrap_err().field, "kind");
    }

    proptest! {
        /// A match is always an entry whose key the address contains; an exact name always
        /// finds its own entry whatever else the book holds.
        #[test]
        fn matches_are_contained_and_exact_names_find_themselves(
            names in proptest::collection::btree_set("[文昌鼓楼社区南北门路号0-9]{2,6}", 1..12),
            pick in any::<prop::sample::Index>(),
            prefix in "[海州区的]{0,3}",
            suffix in "[口边旁]{0,3}",
        ) {
            let names: Vec<String> = names.into_iter().collect();
            let b: Vec<(PlaceKey, usize)> =
                names.iter().enumerate().map(|(i, n)| (key(n), i)).collect();
            let chosen = pick.index(names.len());
            prop_assert_eq!(best_match(&b[chosen].0, &b), AddressMatch::Exact(chosen));

            let query = key(&format!("{prefix}{}{suffix}", names[chosen]));
            match best_match(&query, &b) {
                AddressMatch::Exact(i) => prop_assert_eq!(&b[i].0, &query),
                AddressMatch::Contained(i) => {
                    prop_assert!(query.as_str().contains(b[i].0.as_str()));
                    prop_assert!(b[i].0.chars() >= MIN_CONTAINED_CHARS);
                }
                AddressMatch::Ambiguous(all) => {
                    prop_assert!(all.len() >= 2);
                    let lens: Vec<usize> = all.iter().map(|i| b[*i].0.chars()).collect();
                    prop_assert!(lens.windows(2).all(|w| w[0] == w[1]));
                }
                AddressMatch::NoMatch => {
                    prop_assert!(b[chosen].0.chars() < MIN_CONTAINED_CHARS);
                }
            }
            // Looking up only the address's pieces finds the same match as the whole book.
            let pieces = query.pieces();
            let looked_up: Vec<(PlaceKey, usize)> =
                b.iter().filter(|(k, _)| pieces.contains(k.as_str())).cloned().collect();
            prop_assert_eq!(best_match(&query, &looked_up), best_match(&query, &b));
        }
    }
}
