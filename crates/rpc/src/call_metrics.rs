//! Counts and times public JSON-RPC calls per method (`fastevm_rpc_calls_total`,
//! `fastevm_rpc_seconds`): a jsonrpsee RPC middleware in front of every method.
//!
//! Method names come from the caller, so only the names the server serves become labels; any
//! other name is counted as `unknown` (a client cannot grow the metrics without bound). Calls
//! inside a batch are counted; the batch is timed as a whole under `batch`.

use fastevm_metrics::NodeMetrics;
use jsonrpsee::{
    core::middleware::{Batch, Notification, RpcServiceT},
    types::Request,
};
use std::{collections::HashSet, future::Future, sync::Arc, time::Instant};

/// The label of calls to methods the server does not serve.
pub(crate) const UNKNOWN_METHOD: &str = "unknown";

/// Label of the time of whole batches.
pub(crate) const BATCH: &str = "batch";

/// What the middleware reports to: the metrics, and the names of the methods served.
#[derive(Clone, Debug)]
pub(crate) struct CallMetricsConfig {
    pub(crate) metrics: NodeMetrics,
    pub(crate) served: Arc<HashSet<&'static str>>,
}

/// The middleware: wraps the next RPC service; without a config it only passes calls on.
#[derive(Clone, Debug)]
pub(crate) struct CallMetrics<S> {
    service: S,
    config: Option<CallMetricsConfig>,
}

impl<S> CallMetrics<S> {
    /// Wraps `service`.
    pub(crate) fn new(service: S, config: Option<CallMetricsConfig>) -> Self {
        Self { service, config }
    }
}

/// The label a call to `method` is counted under (the served name itself: no allocation).
fn label(served: &HashSet<&'static str>, method: &str) -> &'static str {
    served.get(method).copied().unwrap_or(UNKNOWN_METHOD)
}

/// Records the time since `started` under `label`.
fn observe_since(metrics: &NodeMetrics, label: &str, started: Instant) {
    metrics
        .rpc_seconds
        .with_label_values(&[label])
        .observe(started.elapsed().as_secs_f64());
}

impl<S> RpcServiceT for CallMetrics<S>
where
    S: RpcServiceT + Send + Sync + Clone + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let observed = self.config.as_ref().map(|config| {
            let method = label(&config.served, request.method_name());
            (config.metrics.clone(), method)
        });
        let service = self.service.clone();
        async move {
            let started = Instant::now();
            let response = service.call(request).await;
            if let Some((metrics, method)) = observed {
                metrics.rpc_calls.with_label_values(&[method]).inc();
                observe_since(&metrics, method, started);
            }
            response
        }
    }

    fn batch<'a>(
        &self,
        requests: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let metrics = self.config.as_ref().map(|config| {
            for entry in requests.iter().flatten() {
                let method = label(&config.served, entry.method_name());
                config.metrics.rpc_calls.with_label_values(&[method]).inc();
            }
            config.metrics.clone()
        });
        let service = self.service.clone();
        async move {
            let started = Instant::now();
            let response = service.batch(requests).await;
            if let Some(metrics) = metrics {
                observe_since(&metrics, BATCH, started);
            }
            response
        }
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        if let Some(config) = &self.config {
            let method = label(&config.served, notification.method_name());
            config.metrics.rpc_calls.with_label_values(&[method]).inc();
        }
        self.service.notification(notification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_methods_become_labels() {
        let served: HashSet<&'static str> = ["eth_chainId"].into();
        assert_eq!(label(&served, "eth_chainId"), "eth_chainId");
        assert_eq!(label(&served, "eth_madeUp"), UNKNOWN_METHOD);
    }
}
