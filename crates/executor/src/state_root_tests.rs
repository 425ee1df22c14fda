//! Property test of the incremental state root: random sequences of block diffs — new accounts,
//! balance and nonce changes, storage writes and clears, deletions, and storage wipes with
//! re-creation — applied with [`apply_diff`] block after block must give, after every block,
//! with the tries kept between blocks or not, the root alloy's `HashBuilder` computes from scratch over the whole state (no code of ours in
//! the oracle), and every changed account the storage root of its whole storage.

use super::*;
use alloy_primitives::Address;
use alloy_trie::root::{state_root_unhashed, storage_root_unhashed};
use fastevm_trie::MemoryNodeStore;
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The whole state, as a model: account fields and storage.
#[derive(Clone, Debug, Default)]
struct Account {
    nonce: u64,
    balance: U256,
    code_hash: B256,
    storage: BTreeMap<B256, U256>,
    /// The storage root `apply_diff` computed for it last (the base of its next update).
    storage_root: B256,
}

impl Account {
    fn trie_account(&self) -> TrieAccount {
        TrieAccount {
            nonce: self.nonce,
            balance: self.balance,
            storage_root: self.storage_root,
            code_hash: self.code_hash,
        }
    }
}

/// A slot key from a small space, so slots are often written again and cleared.
fn slot(rng: &mut ChaCha8Rng) -> B256 {
    B256::with_last_byte(rng.gen_range(0..24))
}

/// One block's random diff over `state`, and `state` after it.
fn random_diff(
    rng: &mut ChaCha8Rng,
    state: &BTreeMap<Address, Account>,
    addresses: &[Address],
) -> (StateDiff, BTreeMap<Address, Account>) {
    let mut next = state.clone();
    let count = rng.gen_range(1..=8);
    let mut touched: Vec<Address> = addresses.choose_multiple(rng, count).copied().collect();
    touched.sort();
    let mut accounts = Vec::new();
    for address in touched {
        let before = state.get(&address);
        let action = rng.gen_range(0..10);
        let mut storage_wiped = false;
        let after = match (before, action) {
            // Deleted (self-destruct, or an empty account touched away).
            (Some(_), 0) => None,
            // Storage wiped and the account re-created (CREATE2 at the same address).
            (Some(_), 1) => {
                storage_wiped = true;
                Some(Account {
                    nonce: 1,
                    code_hash: B256::with_last_byte(rng.gen()),
                    ..Account::default()
                })
            }
            (Some(account), _) => Some(account.clone()),
            (None, _) => Some(Account {
                code_hash: KECCAK_EMPTY,
                ..Account::default()
            }),
        };
        let mut slots: BTreeMap<B256, SlotDiff> = BTreeMap::new();
        if storage_wiped {
            // A wipe lists every slot that existed before.
            for (slot, value) in &before.expect("wiped accounts existed").storage {
                slots.insert(
                    *slot,
                    SlotDiff {
                        slot: *slot,
                        before: *value,
                        after: U256::ZERO,
                    },
                );
            }
        }
        let after = after.map(|mut account| {
            account.balance += U256::from(rng.gen_range(0..1_000u64));
            account.nonce += rng.gen_range(0..2);
            for _ in 0..rng.gen_range(0..6) {
                let key = slot(rng);
                let value = if rng.gen_bool(0.3) {
                    U256::ZERO
                } else {
                    U256::from(rng.gen_range(1..1_000_000u64))
                };
                let previous = if storage_wiped {
                    U256::ZERO
                } else {
                    before
                        .and_then(|b| b.storage.get(&key))
                        .copied()
                        .unwrap_or_default()
                };
                let entry = slots.entry(key).or_insert(SlotDiff {
                    slot: key,
                    before: previous,
                    after: value,
                });
                entry.after = value;
                if value.is_zero() {
                    account.storage.remove(&key);
                } else {
                    account.storage.insert(key, value);
                }
            }
            account
        });
        match &after {
            Some(account) => next.insert(address, account.clone()),
            None => next.remove(&address),
        };
        accounts.push(AccountDiff {
            address,
            before: before.map(Account::trie_account),
            after: after.as_ref().map(Account::trie_account),
            storage_wiped,
            storage: slots
                .into_values()
                .filter(|s| storage_wiped || s.before != s.after)
                .collect(),
        });
    }
    (
        StateDiff {
            accounts,
            new_code: vec![],
        },
        next,
    )
}

fn from_scratch(state: &BTreeMap<Address, Account>) -> B256 {
    state_root_unhashed(state.iter().map(|(address, account)| {
        let mut trie = account.trie_account();
        trie.storage_root = storage_root_unhashed(account.storage.clone());
        (*address, trie)
    }))
}

fn run(seed: u64, blocks: usize, tries: &ResidentTries) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let addresses: Vec<Address> = (0..40u8).map(Address::with_last_byte).collect();
    let mut store = MemoryNodeStore::new();
    let mut root = EMPTY_ROOT_HASH;
    let mut state: BTreeMap<Address, Account> = BTreeMap::new();
    for block in 0..blocks {
        let (mut diff, mut next) = random_diff(&mut rng, &state, &addresses);
        let update = apply_diff(&store, tries, root, &mut diff).unwrap();
        store.insert_nodes(update.nodes);
        root = update.state_root;
        // Each changed account's storage root is that of its whole storage.
        for account in &diff.accounts {
            if let Some(after) = account.after {
                let model = next.get_mut(&account.address).unwrap();
                assert_eq!(
                    after.storage_root,
                    storage_root_unhashed(model.storage.clone()),
                    "seed {seed} block {block}: storage root of {}",
                    account.address
                );
                model.storage_root = after.storage_root;
            }
        }
        state = next;
        assert_eq!(root, from_scratch(&state), "seed {seed} block {block}");
    }
    assert!(!state.is_empty());
}

#[test]
fn incremental_roots_equal_from_scratch_roots_over_random_blocks() {
    for seed in 0..12 {
        run(seed, 60, &ResidentTries::none());
    }
}

/// The same with the tries kept from block to block: unbounded, and bounded so tightly that
/// they are pruned (and storage tries dropped) after almost every block.
#[test]
fn kept_tries_give_the_from_scratch_roots_too() {
    for seed in 100..106 {
        let kept = ResidentTries::default();
        run(seed, 60, &kept);
        assert!(
            kept.resident_nodes() > 0,
            "seed {seed}: the tries were kept"
        );
        run(seed + 50, 60, &ResidentTries::new(20));
    }
}
