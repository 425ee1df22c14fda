//! An Engine API HTTP client that signs every request with a fresh JWT, so long-lived clients
//! (the consensus bridge) never present a stale token.

use crate::jwt::{unix_now, JwtSecret};
use jsonrpsee::http_client::{transport::HttpBackend, HttpClient, HttpClientBuilder, HttpRequest};
use std::{
    task::{Context, Poll},
    time::Duration,
};
use tower::{Layer, Service};

/// Layer inserting `Authorization: Bearer <fresh token>` into every request.
#[derive(Clone, Debug)]
pub struct JwtClientLayer {
    secret: JwtSecret,
}

impl<S> Layer<S> for JwtClientLayer {
    type Service = JwtClient<S>;
    fn layer(&self, inner: S) -> Self::Service {
        JwtClient {
            inner,
            secret: self.secret.clone(),
        }
    }
}

/// The signing service.
#[derive(Clone, Debug)]
pub struct JwtClient<S> {
    inner: S,
    secret: JwtSecret,
}

impl<S> Service<HttpRequest> for JwtClient<S>
where
    S: Service<HttpRequest>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: HttpRequest) -> Self::Future {
        let token = self.secret.encode_token(unix_now());
        if let Ok(value) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
        }
        self.inner.call(request)
    }
}

/// The client type [`engine_http_client`] returns.
pub type EngineHttpClient = HttpClient<jsonrpsee::http_client::RpcService<JwtClient<HttpBackend>>>;

/// An HTTP client of the Engine API at `url`, authenticated with `secret`.
pub fn engine_http_client(
    url: &str,
    secret: JwtSecret,
    timeout: Duration,
) -> Result<EngineHttpClient, jsonrpsee::core::ClientError> {
    HttpClientBuilder::default()
        .request_timeout(timeout)
        .max_request_size(crate::error_codes::MAX_REQUEST_BYTES)
        .max_response_size(crate::error_codes::MAX_REQUEST_BYTES)
        .set_rpc_middleware(jsonrpsee::core::middleware::RpcServiceBuilder::new())
        .set_http_middleware(tower::ServiceBuilder::new().layer(JwtClientLayer { secret }))
        .build(url)
}
