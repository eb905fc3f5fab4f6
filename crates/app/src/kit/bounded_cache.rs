//! A bounded, thread-safe cache with approximate least-recently-used
//! eviction in O(1): two generations. New entries go to the young one;
//! a hit in the old one moves the entry back to the young one; when the
//! young generation is full it becomes the old one and the previous old
//! one is dropped. So at most `2 * half` entries are held, and an entry
//! used at least once per `half` insertions is never evicted.
//!
//! Used for the unwrapped keys of `field_cipher.rs` (values are dropped,
//! and so zeroised, on eviction).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
}

/// See the module documentation.
pub struct BoundedCache<K, V> {
    half: usize,
    inner: Mutex<Generations<K, V>>,
}

impl<K: Eq + Hash, V: Clone> BoundedCache<K, V> {
    /// A cache holding at most `capacity` entries (at least 2).
    pub fn new(capacity: usize) -> BoundedCache<K, V> {
        BoundedCache {
            half: (capacity / 2).max(1),
            inner: Mutex::new(Generations {
                young: HashMap::new(),
                old: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations<K, V>> {
        // A panic while holding the lock cannot leave the maps half
        // changed in a way that matters for a cache: keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value, refreshed as recently used.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut g = self.lock();
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let (k, v) = g.old.remove_entry(key)?;
        let out = v.clone();
        Self::put(&mut g, self.half, k, v);
        Some(out)
    }

    fn put(g: &mut Generations<K, V>, half: usize, key: K, value: V) {
        if g.young.len() >= half && !g.young.contains_key(&key) {
            g.old = std::mem::take(&mut g.young);
        }
        g.old.remove(&key);
        g.young.insert(key, value);
    }

    pub fn insert(&self, key: K, value: V) {
        let mut g = self.lock();
        Self::put(&mut g, self.half, key, value);
    }

    pub fn remove(&self, key: &K) {
        let mut g = self.lock();
        g.young.remove(key);
        g.old.remove(key);
    }

    /// Forget every entry.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.young.clear();
        g.old.clear();
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_cache_stays_at_its_bound_and_keeps_what_is_used() {
        let c = BoundedCache::new(100);
        c.insert("hot".to_owned(), 0);
        for i in 0..10_000 {
            c.insert(format!("k{i}"), i);
            assert!(c.len() <= 100);
            // Used at least once per 50 insertions: never evicted.
            if i % 10 == 0 {
                assert_eq!(c.get(&"hot".to_owned()), Some(0), "at {i}");
            }
        }
        assert_eq!(c.get(&"k0".to_owned()), None, "cold entries go");
        assert_eq!(c.get(&"k9999".to_owned()), Some(9999));
        c.remove(&"hot".to_owned());
        assert_eq!(c.get(&"hot".to_owned()), None);
        c.clear();
        assert!(c.is_empty());
    }

    proptest! {
        /// Whatever the operations, the size bound holds and a value read
        /// is the last one inserted for its key (or nothing).
        #[test]
        fn bound_and_last_write_hold(ops in proptest::collection::vec((0u8..3, 0u16..64, any::<u32>()), 0..400)) {
            let c = BoundedCache::new(16);
            let mut last = std::collections::HashMap::new();
            for (op, k, v) in ops {
                match op {
                    0 => { c.insert(k, v); last.insert(k, v); }
                    1 => { c.remove(&k); last.remove(&k); }
                    _ => if let Some(got) = c.get(&k) { prop_assert_eq!(Some(&got), last.get(&k)); },
                }
                prop_assert!(c.len() <= 16);
            }
        }
    }
}
