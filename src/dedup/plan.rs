//! Cluster placement as a plan: which cluster each new story of a batch joins, which clusters
//! the batch creates (and their origins), which stored clusters must be recomputed, and what the
//! matcher takes in once the batch committed.
//!
//! Owns the pure rules between the matcher's decision and the rows the store writes: matching
//! order, placements into clusters that vanished or were merged meanwhile, numbering of new
//! clusters, and the origin of a new cluster (its first member). Never: does I/O or reads the
//! clock; the store runs the SQL and hands in what the database said (ids, existing clusters).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{Arrival, Fingerprint, Matcher, Merge, Placement};

/// A new story of a batch, stored (it has an id) and not yet placed.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub id: i64,
    /// Its publication, else when it was first seen: its place in time for matching.
    pub instant: DateTime<Utc>,
    pub fingerprint: &'a Fingerprint,
}

/// Sorts `new` in matching order (published order, then id, i.e. document order) and asks the
/// matcher where each goes and which stored clusters the batch's evidence merges.
pub fn place_new(matcher: &Matcher, new: &mut [Stored<'_>]) -> (Vec<Placement>, Vec<Merge>) {
    new.sort_by_key(|s| (s.instant.timestamp(), s.id));
    let arrivals: Vec<Arrival<'_>> = new
        .iter()
        .map(|s| Arrival {
            at: s.instant.timestamp(),
            fingerprint: s.fingerprint,
        })
        .collect();
    matcher.plan(&arrivals)
}

/// The stored clusters `placements` join (sorted, unique).
pub fn joined_clusters(placements: &[Placement]) -> Vec<i64> {
    let mut v: Vec<i64> = placements
        .iter()
        .filter_map(|p| match p {
            Placement::Existing(c) => Some(*c),
            Placement::New(_) => None,
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Placements into stored clusters that are gone since the matcher saw them: a cluster merged
/// into another (`merged`: from → into, the database's records whose surviving cluster exists,
/// followed to its end) sends its stories to the surviving cluster; one that simply vanished (its stories were removed or
/// pruned) is forgotten by the matcher and its stories start new clusters instead.
pub fn settle_vanished(
    matcher: &Matcher,
    placements: &mut [Placement],
    joined: &[i64],
    existing: &HashSet<i64>,
    merged: &HashMap<i64, i64>,
) {
    if joined.iter().all(|c| existing.contains(c)) {
        return;
    }
    let mut vanished = Vec::new();
    // Clusters that exist: those found, and those a merge led to.
    let mut live = existing.clone();
    for p in placements.iter_mut() {
        if let Placement::Existing(c) = *p {
            if !existing.contains(&c) {
                match follow(merged, c) {
                    Some(to) => {
                        *p = Placement::Existing(to);
                        live.insert(to);
                    }
                    None => vanished.push(c),
                }
            }
        }
    }
    if !vanished.is_empty() {
        vanished.sort_unstable();
        vanished.dedup();
        matcher.forget_clusters(&vanished);
        replace_vanished(placements, &live);
    }
}

/// Where cluster `c` went through a chain of merges, if it was merged (cycles end the walk).
pub fn follow(merged: &HashMap<i64, i64>, c: i64) -> Option<i64> {
    let mut at = *merged.get(&c)?;
    for _ in 0..merged.len() {
        match merged.get(&at) {
            Some(&next) if next != c => at = next,
            _ => break,
        }
    }
    Some(at)
}

/// Placements into clusters that no longer exist (their stories were removed or pruned since
/// the matcher saw them) become new clusters, one per vanished cluster.
pub fn replace_vanished(placements: &mut [Placement], existing: &HashSet<i64>) {
    let mut next = placements
        .iter()
        .filter_map(|p| match p {
            Placement::New(n) => Some(n + 1),
            Placement::Existing(_) => None,
        })
        .max()
        .unwrap_or(0);
    let mut renamed: HashMap<i64, usize> = HashMap::new();
    for p in placements.iter_mut() {
        if let Placement::Existing(c) = *p {
            if !existing.contains(&c) {
                let n = *renamed.entry(c).or_insert_with(|| {
                    next += 1;
                    next - 1
                });
                *p = Placement::New(n);
            }
        }
    }
    // New clusters are numbered in order of first appearance (the first member is the origin).
    let mut order: HashMap<usize, usize> = HashMap::new();
    for p in placements.iter_mut() {
        if let Placement::New(n) = *p {
            let k = order.len();
            *p = Placement::New(*order.entry(n).or_insert(k));
        }
    }
}

/// The clusters a batch creates, in `Placement::New` order: (origin story id, its instant). The
/// first story of each new cluster is its origin.
pub fn new_cluster_origins(
    placements: &[Placement],
    new: &[Stored<'_>],
) -> Vec<(i64, DateTime<Utc>)> {
    let mut origins = Vec::new();
    for (p, s) in placements.iter().zip(new) {
        if let Placement::New(n) = p {
            if *n == origins.len() {
                origins.push((s.id, s.instant));
            }
        }
    }
    origins
}

/// Where a batch's new stories went, once the new clusters have ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    /// (story id, cluster id).
    pub pairs: Vec<(i64, i64)>,
    /// What the matcher takes in after commit: (story, cluster, instant, fingerprint).
    pub placed: Vec<(i64, i64, i64, Fingerprint)>,
    /// Clusters whose origin, size and times must be recomputed (sorted, unique): stored ones
    /// joined, and new ones that got a second member. A new cluster of one is already right.
    pub touched: Vec<i64>,
    /// New stories that joined a stored cluster.
    pub reprints: u64,
}

/// Resolves placements to cluster ids; `created` maps each new cluster's origin story id to
/// the cluster id the database gave it. A new cluster the database gave no id for (it cannot
/// happen with a well-behaved store) leaves its stories unplaced rather than panicking.
pub fn assign_clusters(
    placements: &[Placement],
    new: &[Stored<'_>],
    origins: &[(i64, DateTime<Utc>)],
    created: &HashMap<i64, i64>,
) -> Assigned {
    let mut a = Assigned {
        pairs: Vec::with_capacity(new.len()),
        placed: Vec::with_capacity(new.len()),
        touched: Vec::new(),
        reprints: 0,
    };
    for (p, s) in placements.iter().zip(new) {
        let cluster = match p {
            Placement::Existing(c) => {
                a.reprints += 1;
                a.touched.push(*c);
                *c
            }
            Placement::New(n) => {
                let Some((origin, _)) = origins.get(*n) else {
                    continue;
                };
                let Some(&c) = created.get(origin) else {
                    continue;
                };
                if *origin != s.id {
                    a.touched.push(c);
                }
                c
            }
        };
        a.pairs.push((s.id, cluster));
        a.placed
            .push((s.id, cluster, s.instant.timestamp(), s.fingerprint.clone()));
    }
    a.touched.sort_unstable();
    a.touched.dedup();
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_into_vanished_clusters_become_new_ones_numbered_in_order() {
        let mut p = vec![
            Placement::Existing(5),
            Placement::New(0),
            Placement::Existing(7),
            Placement::Existing(5),
            Placement::New(0),
        ];
        replace_vanished(&mut p, &[7].into_iter().collect());
        assert_eq!(
            p,
            vec![
                Placement::New(0),
                Placement::New(1),
                Placement::Existing(7),
                Placement::New(0),
                Placement::New(1),
            ]
        );
    }

    #[test]
    fn placements_into_merged_clusters_follow_the_merge_chain() {
        let m = Matcher::new(super::super::MatchRules::default());
        let mut p = vec![
            Placement::Existing(3),
            Placement::Existing(5),
            Placement::New(0),
        ];
        let existing: HashSet<i64> = [9].into_iter().collect();
        // 3 went into 4, which went into 9; 5 vanished without a record.
        let merged: HashMap<i64, i64> = [(3, 4), (4, 9)].into_iter().collect();
        settle_vanished(&m, &mut p, &[3, 5], &existing, &merged);
        assert_eq!(
            p,
            vec![Placement::Existing(9), Placement::New(0), Placement::New(1)]
        );
    }

    #[test]
    fn a_followed_merge_survives_another_cluster_vanishing() {
        // What the store passes: only the joined ids it found (neither 3 nor 5), and the merge
        // records; 9 is known to exist only through the record.
        let m = Matcher::new(super::super::MatchRules::default());
        let mut p = vec![Placement::Existing(3), Placement::Existing(5)];
        let merged: HashMap<i64, i64> = [(3, 9)].into_iter().collect();
        settle_vanished(&m, &mut p, &[3, 5], &HashSet::new(), &merged);
        assert_eq!(p, vec![Placement::Existing(9), Placement::New(0)]);
    }

    #[test]
    fn a_merge_cycle_ends_the_walk() {
        let merged: HashMap<i64, i64> = [(1, 2), (2, 1)].into_iter().collect();
        assert_eq!(follow(&merged, 1), Some(2));
        assert_eq!(follow(&merged, 7), None);
    }

    #[test]
    fn a_new_clusters_first_member_is_its_origin_and_later_members_touch_it() {
        let fp = crate::dedup::fingerprint("one two three four five six seven eight");
        let t = |s| DateTime::from_timestamp(s, 0).unwrap_or_default();
        let new = [
            Stored {
                id: 10,
                instant: t(100),
                fingerprint: &fp,
            },
            Stored {
                id: 11,
                instant: t(200),
                fingerprint: &fp,
            },
            Stored {
                id: 12,
                instant: t(300),
                fingerprint: &fp,
            },
        ];
        let p = [Placement::New(0), Placement::New(0), Placement::Existing(4)];
        let origins = new_cluster_origins(&p, &new);
        assert_eq!(origins, vec![(10, t(100))]);
        let created: HashMap<i64, i64> = [(10, 50)].into_iter().collect();
        let a = assign_clusters(&p, &new, &origins, &created);
        assert_eq!(a.pairs, vec![(10, 50), (11, 50), (12, 4)]);
        assert_eq!(a.touched, vec![4, 50]);
        assert_eq!(a.reprints, 1);
    }
}
