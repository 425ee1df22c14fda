//! Recovering transaction senders (ECDSA public-key recovery with libsecp256k1), once per
//! transaction per node: a [`SenderCache`] remembers the sender of every transaction this node
//! already recovered (when its pool admitted it, when a block carrying it was built or imported),
//! so building and importing only recover what is new. What is left is spread over the machine's
//! cores. Order is preserved, so results are deterministic.

use alloy_consensus::{transaction::SignerRecoverable, TxEnvelope};
use alloy_primitives::{Address, B256};
use moka::sync::Cache;

/// Below this many transactions, recovery runs on the calling thread.
const PARALLEL_THRESHOLD: usize = 64;

/// Senders remembered by default: a few seconds of transactions at full load.
pub const DEFAULT_SENDER_CACHE_ENTRIES: u64 = 1 << 18;

/// Transaction hash → recovered sender. The hash commits to the signature, and the sender is a
/// pure function of the signed transaction, so an entry can never be wrong for its key.
#[derive(Clone)]
pub struct SenderCache {
    senders: Cache<B256, Address>,
}

impl std::fmt::Debug for SenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderCache")
            .field("entries", &self.senders.entry_count())
            .finish()
    }
}

impl Default for SenderCache {
    fn default() -> Self {
        Self::new(DEFAULT_SENDER_CACHE_ENTRIES)
    }
}

impl SenderCache {
    /// A cache of at most `entries` senders.
    pub fn new(entries: u64) -> Self {
        Self {
            // LRU: a sender is inserted once and read once or twice; moka's default admission
            // policy would turn new entries away once the cache is full.
            senders: Cache::builder()
                .max_capacity(entries)
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .build(),
        }
    }

    /// The remembered sender of transaction `hash`.
    pub fn get(&self, hash: &B256) -> Option<Address> {
        self.senders.get(hash)
    }

    /// Remembers that transaction `hash` was signed by `sender` (the caller recovered it).
    pub fn insert(&self, hash: B256, sender: Address) {
        self.senders.insert(hash, sender);
    }

    /// The sender of each transaction, in order: remembered ones from the cache, the others
    /// recovered (in parallel) and remembered. `Err` holds why a signature does not recover.
    pub fn recover(&self, transactions: &[TxEnvelope]) -> Vec<Result<Address, String>> {
        let mut out: Vec<Option<Result<Address, String>>> = transactions
            .iter()
            .map(|tx| self.get(tx.tx_hash()).map(Ok))
            .collect();
        let missing: Vec<usize> = (0..transactions.len())
            .filter(|&i| out[i].is_none())
            .collect();
        if !missing.is_empty() {
            let recovered = recover_indexed(transactions, &missing);
            for (&i, result) in missing.iter().zip(recovered) {
                if let Ok(sender) = &result {
                    self.insert(*transactions[i].tx_hash(), *sender);
                }
                out[i] = Some(result);
            }
        }
        out.into_iter()
            .map(|r| r.expect("every position is filled"))
            .collect()
    }
}

impl SenderCache {
    /// Starts a thread that decodes raw transactions and recovers their senders into this cache
    /// ahead of the block that will carry them (FastEVM feeds it the transactions of DAG blocks
    /// when they are accepted, a couple of rounds before their commit). The thread ends when
    /// every handle to the prefetcher is dropped.
    pub fn spawn_prefetcher(&self) -> SenderPrefetcher {
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(PREFETCH_QUEUE);
        let cache = self.clone();
        std::thread::Builder::new()
            .name("fastevm-senders".into())
            .spawn(move || {
                use alloy_eips::eip2718::Decodable2718;
                while let Ok(raw) = rx.recv() {
                    let decoded: Vec<TxEnvelope> = raw
                        .iter()
                        .filter_map(|bytes| TxEnvelope::decode_2718(&mut bytes.as_slice()).ok())
                        .collect();
                    // Bad signatures are found (and reported) again when a block carries them.
                    let _ = cache.recover(&decoded);
                }
            })
            .expect("the OS starts the sender prefetch thread");
        SenderPrefetcher { jobs }
    }
}

/// Batches the prefetch thread may hold before new ones are passed over.
const PREFETCH_QUEUE: usize = 1024;

/// Hands raw transactions to a [`SenderCache`]'s prefetch thread (see
/// [`SenderCache::spawn_prefetcher`]).
#[derive(Debug, Clone)]
pub struct SenderPrefetcher {
    jobs: std::sync::mpsc::SyncSender<Vec<Vec<u8>>>,
}

impl SenderPrefetcher {
    /// Queues `raw` transactions for sender recovery without waiting. When the thread is far
    /// behind the batch is passed over: it is only a head start, block building recovers
    /// whatever the cache lacks.
    pub fn submit(&self, raw: Vec<Vec<u8>>) {
        let _ = self.jobs.try_send(raw);
    }
}

/// Cores this process may use, read once: `available_parallelism` reads cgroup files on every
/// call (tens of microseconds, more than an empty block's whole recovery).
static CORES: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

/// The sender of each transaction, in order; `Err` holds why a signature does not recover.
pub fn recover_senders(transactions: &[TxEnvelope]) -> Vec<Result<Address, String>> {
    let all: Vec<usize> = (0..transactions.len()).collect();
    recover_indexed(transactions, &all)
}

/// Recovers the senders of `transactions[i]` for each `i` of `indices`, in that order.
fn recover_indexed(transactions: &[TxEnvelope], indices: &[usize]) -> Vec<Result<Address, String>> {
    let recover = |&i: &usize| transactions[i].recover_signer().map_err(|e| e.to_string());
    if indices.len() < PARALLEL_THRESHOLD || *CORES < 2 {
        return indices.iter().map(recover).collect();
    }
    let threads = *CORES;
    let chunk = indices.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(recover).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("sender recovery does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{SignableTransaction, TxLegacy};
    use alloy_primitives::{TxKind, B256, U256};
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;

    /// `count` legacy transfers signed by `signer`, nonces 0, 1, …
    fn transfers(signer: &PrivateKeySigner, count: u64) -> Vec<TxEnvelope> {
        (0..count)
            .map(|nonce| {
                let tx = TxLegacy {
                    chain_id: Some(1),
                    nonce,
                    gas_limit: 21_000,
                    to: TxKind::Call(Default::default()),
                    ..Default::default()
                };
                let sig = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
                TxEnvelope::from(tx.into_signed(sig))
            })
            .collect()
    }

    #[test]
    fn parallel_recovery_keeps_order_and_reports_bad_signatures() {
        let mut expected = Vec::new();
        let mut txs = Vec::new();
        for i in 0..150u64 {
            let signer = PrivateKeySigner::from_bytes(&B256::from(U256::from(i + 1))).unwrap();
            let tx = TxLegacy {
                chain_id: Some(1),
                nonce: i,
                gas_limit: 21_000,
                to: TxKind::Call(Default::default()),
                ..Default::default()
            };
            let sig = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
            txs.push(TxEnvelope::from(tx.into_signed(sig)));
            expected.push(signer.address());
        }
        // Corrupt one signature: s = 0 never recovers.
        let bad = TxLegacy {
            chain_id: Some(1),
            nonce: 999,
            gas_limit: 21_000,
            ..Default::default()
        };
        let sig = alloy_primitives::Signature::new(U256::from(1), U256::ZERO, false);
        txs.insert(70, TxEnvelope::from(bad.into_signed(sig)));
        let got = recover_senders(&txs);
        assert_eq!(got.len(), 151);
        assert!(got[70].is_err());
        let ok: Vec<Address> = got.into_iter().filter_map(Result::ok).collect();
        assert_eq!(ok, expected);
    }

    #[test]
    fn cache_serves_known_senders_and_recovers_the_rest() {
        let signer = PrivateKeySigner::from_bytes(&B256::from(U256::from(7))).unwrap();
        let txs = transfers(&signer, 100);
        let cache = SenderCache::new(1_000);
        // A wrong entry planted for the first transaction shows the cache is consulted first.
        let planted = Address::repeat_byte(0xaa);
        cache.insert(*txs[0].tx_hash(), planted);
        let got = cache.recover(&txs);
        assert_eq!(got[0], Ok(planted));
        assert!(got[1..].iter().all(|r| r == &Ok(signer.address())));
        // Everything recovered is now remembered.
        for tx in &txs[1..] {
            assert_eq!(cache.get(tx.tx_hash()), Some(signer.address()));
        }
        // A signature that does not recover is reported and not remembered.
        let bad = TxLegacy {
            chain_id: Some(1),
            nonce: 999,
            gas_limit: 21_000,
            ..Default::default()
        };
        let bad = TxEnvelope::from(bad.into_signed(alloy_primitives::Signature::new(
            U256::from(1),
            U256::ZERO,
            false,
        )));
        assert!(cache.recover(std::slice::from_ref(&bad))[0].is_err());
        assert_eq!(cache.get(bad.tx_hash()), None);
    }

    #[test]
    fn prefetcher_fills_the_cache_in_the_background() {
        use alloy_eips::eip2718::Encodable2718;
        let signer = PrivateKeySigner::from_bytes(&B256::from(U256::from(9))).unwrap();
        let txs = transfers(&signer, 3);
        let cache = SenderCache::new(100);
        let prefetcher = cache.spawn_prefetcher();
        let mut raw: Vec<Vec<u8>> = txs.iter().map(|tx| tx.encoded_2718()).collect();
        raw.push(vec![0xde, 0xad]); // undecodable: passed over
        prefetcher.submit(raw);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while txs.iter().any(|tx| cache.get(tx.tx_hash()).is_none()) {
            assert!(
                std::time::Instant::now() < deadline,
                "prefetch never finished"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        for tx in &txs {
            assert_eq!(cache.get(tx.tx_hash()), Some(signer.address()));
        }
    }
}
