//! Tower middleware that refuses any HTTP or WebSocket-upgrade request to the Engine API without
//! a valid JWT (HTTP 401, the JSON-RPC method never runs).

use fastevm_engine_api::jwt::{unix_now, JwtError, JwtSecret};
use jsonrpsee::{
    core::BoxError,
    server::{HttpBody, HttpRequest, HttpResponse},
};
use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};
use tower::{Layer, Service};

/// Source of the current Unix time for token checks (injectable for tests).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Layer adding [`JwtAuth`] to a service.
#[derive(Clone)]
pub struct JwtAuthLayer {
    secret: JwtSecret,
    clock: Clock,
}

impl std::fmt::Debug for JwtAuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthLayer").finish_non_exhaustive()
    }
}

impl JwtAuthLayer {
    /// Checks tokens against `secret` with the system clock.
    pub fn new(secret: JwtSecret) -> Self {
        Self::with_clock(secret, Arc::new(unix_now))
    }

    /// Checks tokens against `secret` with `clock`.
    pub fn with_clock(secret: JwtSecret, clock: Clock) -> Self {
        Self { secret, clock }
    }
}

impl<S> Layer<S> for JwtAuthLayer {
    type Service = JwtAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth {
            inner,
            secret: self.secret.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// The authenticating service.
#[derive(Clone)]
pub struct JwtAuth<S> {
    inner: S,
    secret: JwtSecret,
    clock: Clock,
}

impl<S> std::fmt::Debug for JwtAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth").finish_non_exhaustive()
    }
}

impl<S> JwtAuth<S> {
    fn check<B>(&self, request: &HttpRequest<B>) -> Result<(), JwtError> {
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(JwtError::MissingToken)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(JwtError::MissingToken)?;
        self.secret.validate(token.trim(), (self.clock)())
    }
}

impl<S, B> Service<HttpRequest<B>> for JwtAuth<S>
where
    S: Service<HttpRequest<B>, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        match self.check(&request) {
            Ok(()) => {
                let fut = self.inner.call(request);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Err(e) => {
                tracing::debug!(error = %e, "refused unauthenticated Engine API request");
                let response = http::Response::builder()
                    .status(http::StatusCode::UNAUTHORIZED)
                    .header(http::header::CONTENT_TYPE, "text/plain")
                    .body(HttpBody::from(format!("{e}\n")))
                    .expect("static response parts are valid");
                Box::pin(async move { Ok(response) })
            }
        }
    }
}
