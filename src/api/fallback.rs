//! Answers for requests that match no handler: 405 with `Allow` when the path
//! exists under another method, else 404 — in the surface's error body.

use actix_router::ResourceDef;
use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// Every documented path with the methods it serves.
pub struct RouteTable(Vec<(ResourceDef, Vec<Method>)>);

impl RouteTable {
    pub fn from_openapi(doc: &Value) -> Self {
        let paths = doc["paths"].as_object().into_iter().flatten();
        let routes = paths
            .map(|(path, item)| {
                let methods = [Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::PATCH, Method::HEAD]
                    .into_iter()
                    .filter(|m| item.get(m.as_str().to_lowercase()).is_some())
                    .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self(routes)
    }

    fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        // A path without parameters (`…/users/search`) is its own resource,
        // though a templated one (`…/users/{userIdentifier}`) matches it too.
        if let Some((_, methods)) = self.0.iter().find(|(def, _)| def.pattern() == Some(path)) {
            return Some(methods.clone());
        }
        let mut allowed: Vec<Method> = Vec::new();
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        for (def, methods) in &self.0 {
            // The bulk POST is served with and without its trailing slash.
            if def.is_match(path) || def.is_match(&format!("{trimmed}/")) {
                for m in methods {
                    if !allowed.contains(m) {
                        allowed.push(m.clone());
                    }
                }
            }
        }
        (!allowed.is_empty()).then_some(allowed)
    }
}

pub async fn not_matched(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    match routes.allowed(req.match_info().as_str()) {
        Some(methods) => {
            let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
            let allow = allow.join(", ");
            let error = Error::new(ErrorKind::MethodNotAllowed, format!("Method {} is not allowed here; allowed: {allow}", req.method()));
            let mut response = HttpResponse::from_error(error);
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => HttpResponse::from_error(Error::new(ErrorKind::RouteNotFound, format!("No route {} {}", req.method(), req.path()))),
    }
}
