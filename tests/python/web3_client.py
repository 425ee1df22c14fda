"""A real dapp client against a running FastEVM node: web3.py + eth-account.

Usage: python3 web3_client.py HTTP_URL WS_URL PRIVATE_KEY

Signs and sends transfers, deploys a contract, calls it, and reads its events both with
eth_getLogs and through a WebSocket `logs` subscription. Then uses the node's unlocked dev
accounts as a dapp would (`w3.eth.accounts`, `w3.eth.send_transaction` with only from/to/value,
`w3.eth.sign`, `w3.eth.sign_transaction`). Exits non-zero (with the reason) on
the first mismatch. Run by tests/it/web3_client.rs, which starts the node.
"""

import asyncio
import sys

from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import AsyncWeb3, Web3
from web3.providers.persistent import WebSocketProvider

# Runtime: 36 bytes of calldata (selector + uint256) store the word in slot 0 and emit
# ValueSet(uint256); any other calldata returns slot 0.
EVENT_SIGNATURE = "ValueSet(uint256)"
ABI = [
    {"type": "function", "name": "set", "stateMutability": "nonpayable",
     "inputs": [{"name": "value", "type": "uint256"}], "outputs": []},
    {"type": "function", "name": "get", "stateMutability": "view",
     "inputs": [], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "event", "name": "ValueSet", "anonymous": False,
     "inputs": [{"name": "value", "type": "uint256", "indexed": False}]},
]


def runtime_code(topic: bytes) -> bytes:
    get_path = bytes.fromhex("36602414600f57" "5f545f5260205ff3")  # size == 36 ? jump : return slot 0
    set_path = bytes.fromhex("5b600435805f555f52")  # JUMPDEST; v = calldata[4..]; SSTORE 0 v; MSTORE 0 v
    emit = bytes.fromhex("7f") + bytes(topic) + bytes.fromhex("60205fa100")  # LOG1(0, 32, topic); STOP
    return get_path + set_path + emit


def init_code(runtime: bytes) -> bytes:
    assert len(runtime) < 256
    # PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN, then the runtime.
    return bytes([0x60, len(runtime), 0x80, 0x60, 0x0B, 0x60, 0x00, 0x39, 0x60, 0x00, 0xF3]) + runtime


def check(condition, message):
    if not condition:
        print("FAIL:", message, file=sys.stderr)
        sys.exit(1)


def send(w3, account, tx):
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("maxPriorityFeePerGas", w3.to_wei(1, "gwei"))
    tx.setdefault("maxFeePerGas", w3.eth.get_block("latest")["baseFeePerGas"] * 2 + w3.to_wei(1, "gwei"))
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.1)
    check(receipt["status"] == 1, f"transaction {tx_hash.hex()} failed: {receipt}")
    return receipt


async def subscribe_and_set(ws_url, contract_address, contract_abi, value, trigger):
    async with AsyncWeb3(WebSocketProvider(ws_url)) as w3:
        sub_id = await w3.eth.subscribe("logs", {"address": contract_address})
        await asyncio.to_thread(trigger)
        async for message in w3.socket.process_subscriptions():
            log = message["result"]
            data = log["data"]
            got = int.from_bytes(bytes(data), "big")
            check(got == value, f"subscription delivered {got}, expected {value}")
            await w3.eth.unsubscribe(sub_id)
            return log


def main():
    http_url, ws_url, key = sys.argv[1], sys.argv[2], sys.argv[3]
    w3 = Web3(Web3.HTTPProvider(http_url, request_kwargs={"timeout": 30}))
    check(w3.is_connected(), "node not reachable")
    account = Account.from_key(key)
    chain_id = w3.eth.chain_id
    print("chain id", chain_id, "head", w3.eth.block_number)

    # Transfers.
    recipient = Account.create().address
    before = w3.eth.get_balance(account.address)
    for i in range(3):
        send(w3, account, {"to": recipient, "value": 10**15, "gas": 21000})
    check(w3.eth.get_balance(recipient) == 3 * 10**15, "recipient balance after 3 transfers")
    check(w3.eth.get_balance(account.address) < before - 3 * 10**15, "sender paid value and fees")
    print("transfers ok")

    # Deploy.
    topic = Web3.keccak(text=EVENT_SIGNATURE)
    runtime = runtime_code(topic)
    receipt = send(w3, account, {"data": init_code(runtime), "gas": 200000})
    address = receipt["contractAddress"]
    check(address is not None, "deployment receipt has a contract address")
    check(bytes(w3.eth.get_code(address)) == runtime, "deployed code matches")
    contract = w3.eth.contract(address=address, abi=ABI)
    print("deployed", address)

    # Call and transact.
    check(contract.functions.get().call() == 0, "initial value is 0")
    set_receipt = send(w3, account, {
        "to": address, "gas": 100000,
        "data": contract.encode_abi("set", args=[42]),
    })
    check(contract.functions.get().call() == 42, "value after set(42)")
    events = contract.events.ValueSet().process_receipt(set_receipt)
    check(len(events) == 1 and events[0]["args"]["value"] == 42, f"receipt events {events}")

    # eth_getLogs.
    logs = w3.eth.get_logs({"address": address, "fromBlock": 0, "toBlock": "latest", "topics": [topic]})
    check(len(logs) == 1, f"eth_getLogs returned {len(logs)} logs")
    check(int.from_bytes(bytes(logs[0]["data"]), "big") == 42, "eth_getLogs data")
    check(logs[0]["transactionHash"] == set_receipt["transactionHash"], "log transaction hash")
    print("getLogs ok")

    # WebSocket subscription.
    def trigger():
        send(w3, account, {"to": address, "gas": 100000, "data": contract.encode_abi("set", args=[7])})

    log = asyncio.run(subscribe_and_set(ws_url, address, ABI, 7, trigger))
    check(log["address"].lower() == address.lower(), "subscribed log address")
    check(contract.functions.get().call() == 7, "value after set(7)")
    print("subscription ok")

    # The node's unlocked dev accounts: the node fills nonce, gas and fees, and signs.
    accounts = w3.eth.accounts
    check(len(accounts) == 10, f"eth_accounts lists the dev accounts: {accounts}")
    check(account.address in accounts, "the funded key is one of them")
    coinbase = w3.provider.make_request("eth_coinbase", [])["result"]
    check(Web3.to_checksum_address(coinbase) == accounts[0], "eth_coinbase is the first account")
    payee = Account.create().address
    tx_hash = w3.eth.send_transaction({"from": accounts[1], "to": payee, "value": 12345})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.1)
    check(receipt["status"] == 1 and receipt["from"] == accounts[1], f"send_transaction: {receipt}")
    check(w3.eth.get_balance(payee) == 12345, "payee got the value")
    message = b"FastEVM"
    signature = w3.eth.sign(accounts[2], data=message)
    signer = Account.recover_message(encode_defunct(primitive=message), signature=signature)
    check(signer == accounts[2], f"eth_sign recovers to {signer}")
    signed = w3.eth.sign_transaction({
        "from": accounts[3], "to": payee, "value": 1, "gas": 21000,
        "maxFeePerGas": w3.eth.get_block("latest")["baseFeePerGas"] * 2 + w3.to_wei(1, "gwei"),
        "maxPriorityFeePerGas": w3.to_wei(1, "gwei"),
        "nonce": w3.eth.get_transaction_count(accounts[3], "pending"),
    })
    check(Account.recover_transaction(signed["raw"]) == accounts[3], "sign_transaction signer")
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed["raw"]), timeout=60, poll_latency=0.1)
    check(receipt["status"] == 1 and w3.eth.get_balance(payee) == 12346, "signed transfer mined")
    print("dev accounts ok")
    print("web3 client: all checks passed")


if __name__ == "__main__":
    main()
