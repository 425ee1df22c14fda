//! The served method list against execution-apis' OpenRPC spec (`../shared/fixtures/specs/
//! openrpc`): every method the spec lists is registered, and the methods of a fork no FastEVM
//! chain schedules (EIP-7928 block access lists) answer an error that says so.

use crate::common::{chain, context, http_post, server};
use fastevm_rpc::{rpc_module, QueryLimits};
use serde_json::{json, Value};
use std::{collections::BTreeSet, path::PathBuf};

fn spec_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/specs/openrpc"
    ))
}

/// Every method name the spec's method files list (`- name: ...` at the top level).
fn spec_methods() -> BTreeSet<String> {
    let mut methods = BTreeSet::new();
    for namespace in ["eth", "debug", "txpool", "testing"] {
        let dir = spec_dir().join(namespace);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("spec directory {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            methods.extend(
                text.lines()
                    .filter_map(|line| line.strip_prefix("- name: "))
                    .map(|name| name.trim().to_string()),
            );
        }
    }
    methods
}

#[test]
fn every_method_of_the_spec_is_served() {
    let spec = spec_methods();
    assert!(
        spec.len() > 50 && spec.contains("eth_sendTransaction"),
        "the spec's method list was read: {spec:?}"
    );
    let module = rpc_module(context(&chain(1)), QueryLimits::default(), true).unwrap();
    let served: BTreeSet<String> = module.method_names().map(str::to_string).collect();
    let missing: Vec<&String> = spec.difference(&served).collect();
    assert!(missing.is_empty(), "spec methods not served: {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_access_list_methods_say_the_fork_is_not_active() {
    let server = server(context(&chain(1))).await;
    for method in ["eth_getBlockAccessList", "debug_getRawBlockAccessList"] {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": ["latest"]});
        let (status, text) = http_post(server.http_addr, &body.to_string()).await;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["error"]["code"], -32000, "{method}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("EIP-7928") && message.contains("not active"),
            "{message}"
        );
        // A malformed block is still a parameter error first.
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": ["0xzz"]});
        let (_, text) = http_post(server.http_addr, &body.to_string()).await;
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["error"]["code"], -32602, "{method}: {answer}");
    }
}
