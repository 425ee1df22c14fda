//! geth's parameter errors for every served method, table-driven: for each method the server
//! registers and each position of its signature, values of the wrong JSON type, hex without
//! `0x`, odd-length or invalid hex, over-long data and numbers over 64 bits must all answer
//! -32602 `invalid argument N: …`; a missing required argument and one too many answer geth's
//! arity errors. A served method without a signature fails the test.

use crate::common::{chain, context, http_post, server_with};
use fastevm_rpc::{rpc_module, signature, Param, QueryLimits, RpcServerConfig};
use serde_json::{json, Value};

fn valid(param: Param) -> Value {
    match param {
        Param::Address => json!(format!("0x{}", "11".repeat(20))),
        Param::Hash => json!(format!("0x{}", "00".repeat(32))),
        Param::Bytes => json!("0x"),
        Param::Quantity | Param::HexOrDecimal => json!("0x1"),
        Param::BlockNumberOrTag | Param::BlockId => json!("latest"),
        Param::Bool => json!(false),
        Param::StorageKey => json!("0x0"),
        Param::StorageKeys | Param::Numbers | Param::BytesList => json!([]),
        Param::SimulatePayload => json!({"blockStateCalls": []}),
        Param::PayloadAttributes => json!({
            "timestamp": "0x1",
            "prevRandao": format!("0x{}", "00".repeat(32)),
            "suggestedFeeRecipient": format!("0x{}", "00".repeat(20)),
        }),
        _ => json!({}),
    }
}

/// Malformed values of `param`, each with what it shows.
fn malformed(param: Param) -> Vec<(&'static str, Value)> {
    let hex_cases = |len: usize| {
        vec![
            ("wrong type", json!(1)),
            ("no 0x", json!("ab".repeat(len))),
            ("odd length", json!("0xabc")),
            ("invalid hex", json!(format!("0x{}", "zz".repeat(len)))),
            ("over-long", json!(format!("0x{}", "ab".repeat(len + 1)))),
        ]
    };
    let number_cases = vec![
        ("wrong type", json!(true)),
        ("no 0x", json!("12")),
        ("too large", json!("0x10000000000000000")),
        ("leading zero", json!("0x01")),
        ("invalid hex", json!("0xzz")),
    ];
    match param {
        Param::Address => hex_cases(20),
        Param::Hash => hex_cases(32),
        Param::Bytes => vec![
            ("wrong type", json!(1)),
            ("no 0x", json!("abcd")),
            ("odd length", json!("0xabc")),
            ("invalid hex", json!("0xzz")),
        ],
        Param::Quantity | Param::BlockNumberOrTag | Param::BlockId => number_cases,
        // Decimal and hex both fine: only non-numbers and overflow are wrong.
        Param::HexOrDecimal => vec![
            ("wrong type", json!(true)),
            ("not a number", json!("twelve")),
            ("too large", json!("0x10000000000000000")),
            ("negative", json!(-1)),
        ],
        Param::Bool => vec![("wrong type", json!("0x1")), ("number", json!(1))],
        Param::StorageKey => vec![("wrong type", json!(1))],
        Param::StorageKeys => vec![("not a list", json!("0x0")), ("wrong item", json!([1]))],
        Param::StorageKeysByAddress => vec![
            ("not a map", json!([])),
            ("bad address", json!({"0x12": []})),
        ],
        Param::Numbers => vec![("not a list", json!("0x1")), ("wrong item", json!(["a"]))],
        Param::BytesList => vec![("not a list", json!("0x")), ("wrong item", json!(["abc"]))],
        Param::TransactionRequest => vec![
            ("wrong type", json!(1)),
            ("bad address", json!({"from": "0x12"})),
            ("too large", json!({"gas": "0x10000000000000000"})),
        ],
        Param::StateOverride => vec![
            ("wrong type", json!(1)),
            ("bad address", json!({"0x12": {}})),
        ],
        Param::BlockOverrides => vec![
            ("wrong type", json!(1)),
            ("bad number", json!({"number": "zz"})),
        ],
        Param::PayloadAttributes => vec![("wrong type", json!(1)), ("incomplete", json!({}))],
        Param::Any => vec![],
        _ => vec![("wrong type", json!(1))],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_parameter_of_every_method_gets_geths_errors() {
    let chain = chain(1);
    let config = RpcServerConfig {
        testing_api: true,
        ..RpcServerConfig::default()
    };
    let server = server_with(context(&chain), config).await;
    let module = rpc_module(context(&chain), QueryLimits::default(), true).unwrap();
    let mut methods: Vec<&str> = module.method_names().collect();
    methods.sort_unstable();
    let mut checked = 0;
    for method in methods {
        let args = signature(method).unwrap_or_else(|| panic!("{method} has no signature"));
        if args.iter().all(|a| a.param == Param::Any) {
            continue; // eth_subscribe / eth_unsubscribe: WebSocket only.
        }
        let call = |params: Vec<Value>| {
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
        };
        for (index, arg) in args.iter().enumerate() {
            let prefix: Vec<Value> = args[..index].iter().map(|a| valid(a.param)).collect();
            for (what, bad) in malformed(arg.param) {
                let mut params = prefix.clone();
                params.push(bad.clone());
                let (_, text) = http_post(server.http_addr, &call(params)).await;
                let answer: Value = serde_json::from_str(&text).unwrap();
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                assert_eq!(
                    answer["error"]["code"], -32602,
                    "{method} argument {index} {what} {bad}: {answer}"
                );
                assert!(
                    message.starts_with(&format!("invalid argument {index}: ")),
                    "{method} argument {index} {what} {bad}: {answer}"
                );
                checked += 1;
            }
            if arg.required {
                let (_, text) = http_post(server.http_addr, &call(prefix.clone())).await;
                let answer: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    answer["error"],
                    json!({"code": -32602, "message": format!("missing value for required argument {index}")}),
                    "{method}"
                );
            }
        }
        let mut too_many: Vec<Value> = args.iter().map(|a| valid(a.param)).collect();
        too_many.push(json!("0x1"));
        let (_, text) = http_post(server.http_addr, &call(too_many)).await;
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            answer["error"]["message"],
            format!("too many arguments, want at most {}", args.len()),
            "{method}"
        );
    }
    assert!(checked > 150, "only {checked} malformed values checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_without_0x_is_refused_in_a_batch_too() {
    let chain = chain(1);
    let server = server_with(context(&chain), RpcServerConfig::default()).await;
    let hash = "00".repeat(32);
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByHash", "params": [hash, false]},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": []},
    ]);
    let (_, text) = http_post(server.http_addr, &batch.to_string()).await;
    let answers: Vec<Value> = serde_json::from_str(&text).unwrap();
    let first = answers.iter().find(|a| a["id"] == 1).unwrap();
    assert_eq!(
        first["error"],
        json!({"code": -32602, "message": "invalid argument 0: hex string without 0x prefix"})
    );
    let second = answers.iter().find(|a| a["id"] == 2).unwrap();
    assert!(second["result"].is_string(), "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fee_history_takes_the_block_count_as_number_decimal_or_hex() {
    let chain = chain(1);
    let server = server_with(context(&chain), RpcServerConfig::default()).await;
    for count in [json!(1), json!("1"), json!("0x1")] {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_feeHistory", "params": [count, "latest", []]});
        let (_, text) = http_post(server.http_addr, &body.to_string()).await;
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["result"]["oldestBlock"], "0x0", "{count}: {answer}");
    }
}
