//! Tower middleware letting browser dapps call the server from any origin: preflight `OPTIONS`
//! requests are answered directly, every other response gets `Access-Control-Allow-Origin: *`.

use http::{header, HeaderValue, Method, StatusCode};
use jsonrpsee::{
    core::BoxError,
    server::{HttpBody, HttpRequest, HttpResponse},
};
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use tower::{Layer, Service};

/// Layer adding [`AllowAnyOrigin`].
#[derive(Debug, Clone, Copy)]
pub struct AllowAnyOriginLayer {
    enabled: bool,
}

impl AllowAnyOriginLayer {
    /// With `enabled: false` requests and responses pass through untouched.
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }
}

impl<S> Layer<S> for AllowAnyOriginLayer {
    type Service = AllowAnyOrigin<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AllowAnyOrigin {
            inner,
            enabled: self.enabled,
        }
    }
}

/// The CORS service.
#[derive(Debug, Clone)]
pub struct AllowAnyOrigin<S> {
    inner: S,
    enabled: bool,
}

fn preflight<B>(request: &HttpRequest<B>) -> HttpResponse {
    let allowed_headers = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type"));
    http::Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, "POST, GET, OPTIONS")
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed_headers)
        .header(header::ACCESS_CONTROL_MAX_AGE, "600")
        .body(HttpBody::empty())
        .expect("static response parts are valid")
}

impl<S, B> Service<HttpRequest<B>> for AllowAnyOrigin<S>
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
        if !self.enabled {
            let future = self.inner.call(request);
            return Box::pin(async move { future.await.map_err(Into::into) });
        }
        if request.method() == Method::OPTIONS {
            let response = preflight(&request);
            return Box::pin(async move { Ok(response) });
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await.map_err(Into::into)?;
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            Ok(response)
        })
    }
}
