//! The monitoring shipped for the devnet's `monitoring` profile: the Grafana dashboard
//! (docker/monitoring/grafana/dashboards/fastevm.json) is valid JSON whose queries name only
//! metrics the node registers, and which charts every one of them; the Prometheus
//! configurations and alert rules pass `promtool check`.

use fastevm_metrics::NodeMetrics;
use serde_json::Value;
use std::collections::BTreeSet;

/// The metric names a registry renders (histograms by their base name).
fn registered() -> BTreeSet<String> {
    let metrics = NodeMetrics::new();
    // Labelled families are only rendered once they have a child.
    metrics.engine_calls.with_label_values(&["m", "ok"]).inc();
    metrics.rpc_calls.with_label_values(&["m"]).inc();
    metrics.rpc_seconds.with_label_values(&["m"]).observe(0.1);
    metrics
        .render()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Every `fastevm_*` name in `expr`, without a histogram's series suffix.
fn names_in(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("fastevm_"))
        .map(|w| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| w.strip_suffix(s))
                .unwrap_or(w)
                .to_string()
        })
        .collect()
}

#[test]
fn the_grafana_dashboard_charts_exactly_the_registered_metrics() {
    let _turn = crate::module_turn::take(module_path!());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docker/monitoring/grafana/dashboards/fastevm.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .expect("the dashboard is JSON");
    let registered = registered();
    assert!(registered.len() >= 15, "{registered:?}");
    let mut charted = BTreeSet::new();
    let panels = dashboard["panels"].as_array().expect("panels");
    for panel in panels {
        let uid = panel["datasource"]["uid"].as_str().expect("a data source");
        assert!(["prometheus", "loki"].contains(&uid), "{panel}");
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("a query");
            for name in names_in(expr) {
                assert!(
                    registered.contains(&name),
                    "{name} is not a metric ({expr})"
                );
                charted.insert(name);
            }
        }
    }
    let uncharted: Vec<_> = registered.difference(&charted).collect();
    assert!(uncharted.is_empty(), "not on the dashboard: {uncharted:?}");
    assert!(
        panels.iter().any(|p| p["datasource"]["uid"] == "loki"),
        "a logs panel"
    );
}

/// Runs Prometheus' own checker (`promtool`, Debian's `prometheus` package; `.ci/run` installs
/// it) and returns its output; a missing promtool fails the test.
fn promtool(args: &[&str]) -> String {
    let output = std::process::Command::new("promtool")
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/docker"))
        .output()
        .expect("promtool runs (apt-get install --no-install-recommends prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn prometheus_configurations_and_alert_rules_pass_promtool() {
    let _turn = crate::module_turn::take(module_path!());
    for config in ["prometheus.yml", "prometheus-host.yml"] {
        let out = promtool(&["check", "config", config]);
        assert!(
            out.contains("1 rule files found"),
            "{config} loads the alerts:\n{out}"
        );
    }
    let out = promtool(&["check", "rules", "monitoring/alerts.yml"]);
    assert!(out.contains("5 rules found"), "{out}");
    // Every alert queries metrics the node registers (or Prometheus' own `up`).
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docker/monitoring/alerts.yml"
    ))
    .unwrap();
    let registered = registered();
    for name in names_in(&rules) {
        assert!(
            registered.contains(&name),
            "{name} in alerts.yml is not a metric"
        );
    }
}
