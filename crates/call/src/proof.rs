//! `eth_getProof` (EIP-1186): Merkle proofs of an account and some of its storage slots against
//! the state root of the context's block, read from the stored trie nodes.

use super::{CallContext, CallError};
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_rlp::Decodable;
use alloy_rpc_types_eth::{EIP1186AccountProofResponse, EIP1186StorageProof};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};

/// The account proof of `address` (account trie, keyed by `keccak(address)`) and the storage
/// proofs of `slots` (its storage trie, keyed by `keccak(slot)`), against the state root of the
/// context's block. An absent account gets a proof of absence with zero balance and nonce, the
/// empty code hash and the empty storage root; its slots read zero with empty proofs.
pub fn account_proof(
    ctx: &CallContext<'_>,
    address: Address,
    slots: &[B256],
) -> Result<EIP1186AccountProofResponse, CallError> {
    let state_root = ctx.header.state_root;
    let key = keccak256(address);
    let account_proof = fastevm_trie::proof(ctx.store, state_root, &key)?;
    let account = match fastevm_trie::get(ctx.store, state_root, &key)? {
        Some(raw) => TrieAccount::decode(&mut raw.as_ref())
            .map_err(|e| CallError::State(format!("account {address}: {e}")))?,
        None => TrieAccount {
            nonce: 0,
            balance: U256::ZERO,
            storage_root: EMPTY_ROOT_HASH,
            code_hash: KECCAK_EMPTY,
        },
    };
    let storage_proof = slots
        .iter()
        .map(|slot| storage_proof(ctx, account.storage_root, address, *slot))
        .collect::<Result<_, _>>()?;
    Ok(EIP1186AccountProofResponse {
        address,
        balance: account.balance,
        code_hash: account.code_hash,
        nonce: account.nonce,
        storage_hash: account.storage_root,
        account_proof,
        storage_proof,
    })
}

fn storage_proof(
    ctx: &CallContext<'_>,
    storage_root: B256,
    address: Address,
    slot: B256,
) -> Result<EIP1186StorageProof, CallError> {
    let key = keccak256(slot);
    let proof = fastevm_trie::proof(ctx.store, storage_root, &key)?;
    let value = match fastevm_trie::get(ctx.store, storage_root, &key)? {
        Some(raw) => U256::decode(&mut raw.as_ref())
            .map_err(|e| CallError::State(format!("slot {slot} of {address}: {e}")))?,
        None => U256::ZERO,
    };
    Ok(EIP1186StorageProof {
        key: slot.into(),
        value,
        proof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_chain::{TestChain, FUNDED, STORE, STORE_VALUE};
    use alloy_primitives::Bytes;
    use alloy_trie::{proof::verify_proof, Nibbles};

    /// Verifies an account proof (and its storage proofs) against `root`.
    fn verify(root: B256, response: &EIP1186AccountProofResponse, exists: bool) {
        let account = TrieAccount {
            nonce: response.nonce,
            balance: response.balance,
            storage_root: response.storage_hash,
            code_hash: response.code_hash,
        };
        let expected = exists.then(|| alloy_rlp::encode(account));
        let path = Nibbles::unpack(keccak256(response.address));
        verify_proof(root, path, expected, &response.account_proof).unwrap();
        for proof in &response.storage_proof {
            let path = Nibbles::unpack(keccak256(proof.key.as_b256()));
            let expected = (!proof.value.is_zero()).then(|| alloy_rlp::encode(proof.value));
            verify_proof(response.storage_hash, path, expected, &proof.proof).unwrap();
        }
    }

    #[test]
    fn proves_an_account_and_its_slots() {
        let chain = TestChain::new();
        let root = chain.genesis_header().state_root;
        let slots = [B256::ZERO, B256::from(U256::from(1))];
        let response = account_proof(&chain.head(), STORE, &slots).unwrap();
        assert_ne!(response.code_hash, KECCAK_EMPTY);
        assert_ne!(response.storage_hash, EMPTY_ROOT_HASH);
        assert_eq!(response.storage_proof[0].value, U256::from(STORE_VALUE));
        assert_eq!(response.storage_proof[1].value, U256::ZERO);
        assert!(!response.storage_proof[1].proof.is_empty());
        verify(root, &response, true);
        // A tampered value does not verify.
        let mut wrong = response.clone();
        wrong.storage_proof[0].value = U256::from(STORE_VALUE + 1);
        let path = Nibbles::unpack(keccak256(B256::ZERO));
        assert!(verify_proof(
            wrong.storage_hash,
            path,
            Some(alloy_rlp::encode(wrong.storage_proof[0].value)),
            &wrong.storage_proof[0].proof
        )
        .is_err());

        let eoa = account_proof(&chain.head(), FUNDED, &[]).unwrap();
        assert_eq!(eoa.balance, U256::from(10u128.pow(19)));
        assert_eq!(eoa.storage_hash, EMPTY_ROOT_HASH);
        verify(root, &eoa, true);
    }

    #[test]
    fn proves_absence() {
        let chain = TestChain::new();
        let root = chain.genesis_header().state_root;
        let nobody = Address::repeat_byte(0x42);
        let response = account_proof(&chain.head(), nobody, &[B256::ZERO]).unwrap();
        assert!(response.is_empty());
        assert!(!response.account_proof.is_empty());
        assert_eq!(response.storage_proof[0].value, U256::ZERO);
        assert_eq!(response.storage_proof[0].proof, Vec::<Bytes>::new());
        verify(root, &response, false);
        // The absence proof does not prove a (fake) account.
        let fake = alloy_rlp::encode(TrieAccount {
            nonce: 1,
            ..TrieAccount::default()
        });
        let path = Nibbles::unpack(keccak256(nobody));
        assert!(verify_proof(root, path, Some(fake), &response.account_proof).is_err());
    }

    #[test]
    fn proves_historical_state_against_its_own_root() {
        let mut chain = TestChain::new();
        let write = chain.sign(0, STORE, crate::test_chain::word(8));
        chain.mine(vec![write]);
        for (number, value) in [(0, STORE_VALUE), (1, 8)] {
            let ctx = chain.at(number);
            let response = account_proof(&ctx, STORE, &[B256::ZERO]).unwrap();
            assert_eq!(response.storage_proof[0].value, U256::from(value));
            verify(ctx.header.state_root, &response, true);
        }
        // The sender's nonce moved on in block 1 only.
        let sender = chain.signer.address();
        assert_eq!(account_proof(&chain.at(0), sender, &[]).unwrap().nonce, 0);
        assert_eq!(account_proof(&chain.at(1), sender, &[]).unwrap().nonce, 1);
    }
}
