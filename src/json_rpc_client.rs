//! A minimal untyped JSON-RPC client over HTTP, for `fastevm load` and the end-to-end tests.

/// An untyped JSON-RPC client over HTTP.
#[derive(Debug, Clone)]
pub struct JsonRpc {
    client: jsonrpsee::http_client::HttpClient,
}

impl JsonRpc {
    /// A client of `http://ADDR`.
    pub fn new(addr: &str) -> Self {
        let client = jsonrpsee::http_client::HttpClientBuilder::default()
            .request_timeout(std::time::Duration::from_secs(30))
            .build(format!("http://{addr}"))
            .expect("valid url");
        Self { client }
    }

    /// Calls `method` with positional `params`.
    pub async fn call<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<serde_json::Value>,
    ) -> Result<R, jsonrpsee::core::ClientError> {
        use jsonrpsee::core::client::ClientT;
        let mut array = jsonrpsee::core::params::ArrayParams::new();
        for param in params {
            array.insert(param).expect("serializable");
        }
        self.client.request(method, array).await
    }
}
