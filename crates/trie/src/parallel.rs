//! The batch update of [`crate::apply_changes`] on two threads: below a root branch the sixteen
//! subtrees are independent, so the changed ones are split in two halves of about equal change
//! count, each half updated and hashed on its own thread, and the root branch is encoded over
//! their references. The result (root and new nodes) is exactly the serial one.

use crate::{
    node::{commit_root, Child, Node},
    update::{nibble_groups, sorted_changes, Change, Updater},
    NodeStore, TrieError, TrieUpdate,
};
use alloy_primitives::{Bytes, B256};

/// Fewer changed keys than this are not worth a second thread.
pub const PARALLEL_MIN_CHANGES: usize = 256;

/// [`crate::apply_changes`], updating and hashing the subtrees below a root branch on two
/// threads when the batch is large (at least [`PARALLEL_MIN_CHANGES`] keys) and the machine has
/// more than one core. Same result as the serial update.
pub fn apply_changes_parallel<S: NodeStore + Sync + ?Sized>(
    store: &S,
    root: B256,
    changes: impl IntoIterator<Item = (B256, Option<Bytes>)>,
) -> Result<TrieUpdate, TrieError> {
    let changes = sorted_changes(changes);
    // Checked only for large batches, and read once: `available_parallelism` reads cgroup files
    // on every call, which costs more than a small trie update.
    let min_changes = if changes.len() >= PARALLEL_MIN_CHANGES && *CORES > 1 {
        PARALLEL_MIN_CHANGES
    } else {
        usize::MAX
    };
    apply_split(store, root, changes, min_changes)
}

/// Cores this process may use, read once.
pub static CORES: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

/// Splits `jobs` where about half of the total `weight` is on each side; returns the second
/// half (at least the first job stays).
pub(crate) fn split_in_halves<T>(jobs: &mut Vec<T>, weight: impl Fn(&T) -> usize) -> Vec<T> {
    let total: usize = jobs.iter().map(&weight).sum();
    let mut seen = 0;
    let split = jobs
        .iter()
        .position(|job| {
            seen += weight(job);
            seen * 2 >= total
        })
        .map_or(jobs.len(), |i| i + 1);
    jobs.split_off(split)
}

/// Runs `first` here and `second` on a scoped thread; a panic on that thread is resumed here.
/// (Also used by the executor to hash a block's body roots beside its state root.)
pub fn on_two_threads<A: Send, B: Send>(
    first: impl FnOnce() -> A,
    second: impl FnOnce() -> B + Send,
) -> (A, B) {
    let (first, second) = std::thread::scope(|scope| {
        let other = scope.spawn(second);
        (first(), other.join())
    });
    match second {
        Ok(second) => (first, second),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Children of the root branch an update touches: (nibble, old child, changes below it).
type Jobs<'c> = Vec<(usize, Option<Child>, &'c [Change])>;

/// The root's updated children (nibble, new child as a reference, changed?) and the nodes
/// hashed on the way.
type Done = (Vec<(usize, Option<Child>, bool)>, Vec<(B256, Bytes)>);

pub(crate) fn apply_split<S: NodeStore + Sync + ?Sized>(
    store: &S,
    root: B256,
    changes: Vec<Change>,
    min_changes: usize,
) -> Result<TrieUpdate, TrieError> {
    if changes.is_empty() {
        return Ok(TrieUpdate::unchanged(root));
    }
    let updater = Updater::new(store);
    let root_node = updater.loader.root(root)?;
    let mut children = match root_node {
        Some(Node::Branch { children }) if changes.len() >= min_changes => children,
        other => return updater.apply(root, other, &changes),
    };

    // The changes under each child of the root, split where half of them are on each side.
    let mut jobs: Jobs<'_> = nibble_groups(&changes, 0)
        .map(|(nibble, group)| (nibble as usize, children[nibble as usize].take(), group))
        .collect();
    let second = split_in_halves(&mut jobs, |(_, _, group)| group.len());

    let run = |jobs: Jobs<'_>| -> Result<Done, TrieError> {
        let updater = Updater::new(store);
        let mut new_nodes = Vec::new();
        let mut done = Vec::with_capacity(jobs.len());
        for (nibble, child, group) in jobs {
            let (child, changed) = updater.update_child(child, 1, group)?;
            // Hash what was built here, so the root only encodes references.
            let child = child.map(|child| Child::Stored(child.into_reference(&mut new_nodes)));
            done.push((nibble, child, changed));
        }
        Ok((done, new_nodes))
    };
    let (first, second) = on_two_threads(|| run(jobs), || run(second));
    let (first, second) = (first?, second?);

    let mut changed = false;
    let mut new_nodes = first.1;
    new_nodes.extend(second.1);
    for (nibble, child, child_changed) in first.0.into_iter().chain(second.0) {
        children[nibble] = child;
        changed |= child_changed;
    }
    if !changed {
        return Ok(TrieUpdate::unchanged(root));
    }
    if children.iter().filter(|child| child.is_some()).count() < 2 {
        // The root branch collapses (the trie shrank to one subtree): rare, done serially.
        return updater.apply(root, updater.loader.root(root)?, &changes);
    }
    let root = commit_root(Node::Branch { children }, &mut new_nodes);
    Ok(TrieUpdate::from_nodes(root, new_nodes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{apply_changes, test_utils::random_key, MemoryNodeStore, EMPTY_ROOT_HASH};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Random batches of inserts, updates and deletes (down to an empty trie) give the serial
    /// update's root and nodes, whichever way the root's children are split.
    #[test]
    fn split_update_matches_the_serial_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut store = MemoryNodeStore::new();
        let mut root = EMPTY_ROOT_HASH;
        let mut keys: Vec<B256> = Vec::new();
        for round in 0..40 {
            let mut changes = Vec::new();
            let inserts = if round < 30 { rng.gen_range(1..400) } else { 0 };
            for _ in 0..inserts {
                let key = random_key(&mut rng);
                keys.push(key);
                changes.push((key, Some(Bytes::from(vec![round as u8 + 1; 40]))));
            }
            // Delete some keys; the last rounds delete everything.
            let deletes = if round < 30 {
                rng.gen_range(0..keys.len().min(100) + 1)
            } else {
                keys.len().div_ceil(40 - round)
            };
            for _ in 0..deletes.min(keys.len()) {
                let key = keys.swap_remove(rng.gen_range(0..keys.len()));
                changes.push((key, None));
            }
            let serial = apply_changes(&store, root, changes.clone()).unwrap();
            let split = apply_split(&store, root, sorted_changes(changes), 1).unwrap();
            assert_eq!(split, serial, "round {round}");
            store.insert_nodes(serial.new_nodes);
            root = serial.root;
        }
        assert_eq!(root, EMPTY_ROOT_HASH);
    }

    #[test]
    fn on_two_threads_returns_both_results() {
        assert_eq!(on_two_threads(|| "here", || 6 * 7), ("here", 42));
    }

    #[test]
    fn a_panic_on_the_second_thread_is_raised_again() {
        let caught =
            std::panic::catch_unwind(|| on_two_threads(|| (), || -> u8 { panic!("side failed") }));
        assert!(caught.is_err());
    }
}
