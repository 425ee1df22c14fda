//! Column families of the FastEVM database and the encoding of their keys and values.
//!
//! All integers in keys are big-endian so that RocksDB's byte order is numeric order.

/// A RocksDB column family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Canonical-head account state. Key: address (20 bytes). Value: RLP `TrieAccount`
    /// (nonce, balance, storage root, code hash). Absent key = account does not exist.
    Accounts,
    /// Canonical-head storage. Key: address (20) ‖ slot (32). Value: big-endian U256 without
    /// leading zeros. Zero values are never stored.
    Storage,
    /// Contract bytecode. Key: code hash (32). Value: raw bytecode.
    Bytecode,
    /// Headers of every known block (canonical or not). Key: block hash. Value: RLP header.
    Headers,
    /// Bodies of every known block. Key: block hash. Value: RLP `BlockBody` (txs, ommers, withdrawals).
    Bodies,
    /// Recovered senders of a block's transactions. Key: block hash. Value: concatenated addresses.
    Senders,
    /// Receipts of every known block. Key: block hash. Value: RLP list of EIP-2718 receipts.
    Receipts,
    /// Canonical chain. Key: block number (8, BE). Value: block hash.
    CanonicalHashes,
    /// Canonical transaction lookup. Key: tx hash. Value: block number (8, BE) ‖ index (4, BE).
    TxLocations,
    /// Merkle-Patricia trie nodes of all retained state roots (account and storage tries).
    /// Key: keccak256 of the node's RLP. Value: the node's RLP.
    TrieNodes,
    /// What each block changed, enough to apply or undo it on the flat state.
    /// Key: block hash. Value: RLP [`crate::StateDiff`].
    StateDiffs,
    /// Chain pointers and configuration. Keys: see [`crate::MetaKey`].
    Metadata,
}

impl Table {
    /// Every table, in the order they are opened.
    pub const ALL: [Table; 12] = [
        Table::Accounts,
        Table::Storage,
        Table::Bytecode,
        Table::Headers,
        Table::Bodies,
        Table::Senders,
        Table::Receipts,
        Table::CanonicalHashes,
        Table::TxLocations,
        Table::TrieNodes,
        Table::StateDiffs,
        Table::Metadata,
    ];

    /// Position in [`Table::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The column family name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Accounts => "accounts",
            Table::Storage => "storage",
            Table::Bytecode => "bytecode",
            Table::Headers => "headers",
            Table::Bodies => "bodies",
            Table::Senders => "senders",
            Table::Receipts => "receipts",
            Table::CanonicalHashes => "canonical_hashes",
            Table::TxLocations => "tx_locations",
            Table::TrieNodes => "trie_nodes",
            Table::StateDiffs => "state_diffs",
            Table::Metadata => "metadata",
        }
    }
}

/// Keys of the [`Table::Metadata`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// Hash of the genesis block.
    Genesis,
    /// Hash of the canonical head; the flat state (accounts/storage) is the state after it.
    Head,
    /// Hash of the latest safe block.
    Safe,
    /// Hash of the latest finalized block.
    Finalized,
    /// The chain configuration (geth genesis `config` JSON) the database was created with.
    ChainConfig,
}

impl MetaKey {
    /// Key bytes.
    pub const fn key(self) -> &'static [u8] {
        match self {
            MetaKey::Genesis => b"genesis",
            MetaKey::Head => b"head",
            MetaKey::Safe => b"safe",
            MetaKey::Finalized => b"finalized",
            MetaKey::ChainConfig => b"chain_config",
        }
    }
}
