//! The doors of the HTTP API: a Host allow-list and an Origin check (so a DNS-rebinding or cross-site
//! page cannot drive the server from a user's browser), JSON-only bodies on every write, and API keys
//! with scopes.
//!
//! Two steps, in two places. [`Guard::admit`] runs before routing and checks what does not depend on
//! the route (Host, Origin, content type). [`Guard::authorize`] runs after routing, inside each
//! route, with the [`Access`] that route was registered with: the scope comes from the route that
//! actually matched, never from the raw path (`POST /%63ollections` is routed as `/collections`, so
//! a scope decided from the raw text let a read key create collections).

use super::error::ApiError;
use actix_web::http::{Method, StatusCode};
use sha2::{Digest, Sha256};

/// What a key may do; each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Search, check, compare, embed, read documents, jobs and stats.
    Read,
    /// Add and delete documents, start scans.
    Write,
    /// Create and delete collections.
    Admin,
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("unknown scope `{other}` (read, write, admin)")),
        }
    }
}

/// Who may call a route; each route is registered with one (see `api::ROUTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health checks, the page, which holds no data).
    Open,
    /// `/metrics`: open with `--metrics-public`, else a read key.
    Metrics,
    /// A key with at least this scope, when keys are configured.
    Key(Scope),
}

/// A configured key, kept only as its SHA-256.
#[derive(Clone)]
struct Key {
    digest: [u8; 32],
    scope: Scope,
}

/// The server's door policy.
#[derive(Clone, Default)]
pub struct Guard {
    keys: Vec<Key>,
    /// Host names (without port) a request may be addressed to; `*` allows any.
    allowed_hosts: Vec<String>,
    /// `/metrics` without a key even when keys are configured.
    pub metrics_public: bool,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Equal digests, in time independent of where they differ.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Guard {
    /// Keys from `scope:key` entries (comma- or newline-separated); hosts as given (loopback names
    /// are always allowed).
    pub fn new(key_specs: &str, extra_hosts: &[String]) -> Result<Guard, String> {
        let mut keys = vec![];
        for spec in key_specs
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with('#'))
        {
            let (scope, key) = spec.split_once(':').ok_or_else(|| {
                "an API key entry is `scope:key` (read, write or admin)".to_owned()
            })?;
            let key = key.trim();
            if key.len() < 16 {
                return Err(format!(
                    "API keys must be at least 16 characters (a `{}` key is {})",
                    scope.trim(),
                    key.len()
                ));
            }
            keys.push(Key {
                digest: digest(key),
                scope: scope.parse()?,
            });
        }
        let mut allowed_hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        allowed_hosts.extend(extra_hosts.iter().map(|h| h.trim().to_ascii_lowercase()));
        Ok(Guard {
            keys,
            allowed_hosts,
            metrics_public: false,
        })
    }

    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        // Strip the port: `[::1]:8080`, `localhost:8080`.
        let name = if let Some(rest) = host.strip_prefix('[') {
            rest.split(']').next().unwrap_or("").to_owned()
        } else {
            host.rsplit_once(':')
                .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
                .map(|(h, _)| h.to_owned())
                .unwrap_or(host)
        };
        self.allowed_hosts.iter().any(|h| h == "*" || *h == name)
    }

    /// Lets a request on to routing, or says why not (403 foreign Host/Origin, 415 a write body that
    /// is not JSON). Keys are checked by [`authorize`](Self::authorize), once the route is known.
    pub fn admit(
        &self,
        method: &Method,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ApiError> {
        let host = header("host").unwrap_or_default();
        if !self.host_allowed(&host) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_host",
                format!(
                    "Host `{host}` is not allowed; start the server with --allow-host {host} to serve it"
                ),
            ));
        }
        if let Some(origin) = header("origin") {
            let o = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(&origin);
            if !self.host_allowed(o) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden_origin",
                    format!("requests from pages at {origin} are not allowed"),
                ));
            }
        }
        if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
            let ct = header("content-type").unwrap_or_default();
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence != "application/json" {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as JSON with Content-Type: application/json",
                ));
            }
        }
        Ok(())
    }

    /// Whether the caller may use a route registered with `access` (401 no or unknown key, 403 a key
    /// without the scope). `method` and `route` name it in the message.
    pub fn authorize(
        &self,
        access: Access,
        method: &str,
        route: &str,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ApiError> {
        if !self.has_keys() {
            return Ok(());
        }
        let needed = match access {
            Access::Open => return Ok(()),
            Access::Metrics if self.metrics_public => return Ok(()),
            Access::Metrics => Scope::Read,
            Access::Key(scope) => scope,
        };
        let presented = header("authorization")
            .and_then(|a| {
                // The scheme is case-insensitive (RFC 9110 §11.1).
                let (scheme, key) = a.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| key.trim().to_owned())
            })
            .or_else(|| header("x-api-key"));
        let Some(presented) = presented else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "an API key is required: send `Authorization: Bearer KEY`",
            ));
        };
        let d = digest(&presented);
        // Check every key, so the time does not tell which one matched.
        let granted = self
            .keys
            .iter()
            .filter(|k| ct_eq(&k.digest, &d))
            .map(|k| k.scope)
            .max();
        match granted {
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown API key",
            )),
            Some(g) if g < needed => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this key has the {g:?} scope; {method} {route} needs {needed:?}"),
            )),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn hosts_origins_keys_scopes_and_content_types() {
        let g = Guard::new("read:rrrrrrrrrrrrrrrrrrrr, admin:aaaaaaaaaaaaaaaaaaaa", &[]).unwrap();
        let get = Method::GET;
        let post = Method::POST;
        // The door, then the route's access, as the server runs them.
        let ok = |m: &Method, access: Access, hs: &[(&str, &str)]| {
            g.admit(m, &h(hs))
                .and_then(|()| g.authorize(access, "GET", "/route", &h(hs)))
                .map_err(|e| e.status.as_u16())
        };
        let read_route = Access::Key(Scope::Read);
        let write_route = Access::Key(Scope::Write);
        let admin_route = Access::Key(Scope::Admin);
        assert_eq!(
            ok(&get, Access::Open, &[("host", "localhost:8080")]),
            Ok(())
        );
        assert_eq!(
            ok(&get, Access::Open, &[("host", "evil.example:8080")]),
            Err(403)
        );
        assert_eq!(ok(&get, read_route, &[("host", "127.0.0.1:1")]), Err(401));
        assert_eq!(
            ok(&get, Access::Metrics, &[("host", "127.0.0.1:1")]),
            Err(401)
        );
        let read = [
            ("host", "[::1]:8080"),
            ("authorization", "Bearer rrrrrrrrrrrrrrrrrrrr"),
        ];
        assert_eq!(ok(&get, read_route, &read), Ok(()));
        let lower = [
            ("host", "localhost"),
            ("authorization", "bearer rrrrrrrrrrrrrrrrrrrr"),
        ];
        assert_eq!(ok(&get, read_route, &lower), Ok(()));
        let read_post = [
            ("host", "localhost"),
            ("x-api-key", "rrrrrrrrrrrrrrrrrrrr"),
            ("content-type", "application/json"),
        ];
        assert_eq!(ok(&post, read_route, &read_post), Ok(()));
        assert_eq!(ok(&post, write_route, &read_post), Err(403));
        assert_eq!(ok(&post, admin_route, &read_post), Err(403));
        let admin = [
            ("host", "localhost"),
            ("authorization", "Bearer aaaaaaaaaaaaaaaaaaaa"),
            ("content-type", "application/json; charset=utf-8"),
        ];
        assert_eq!(ok(&post, admin_route, &admin), Ok(()));
        let plain = [
            ("host", "localhost"),
            ("authorization", "Bearer aaaaaaaaaaaaaaaaaaaa"),
            ("content-type", "text/plain"),
        ];
        assert_eq!(ok(&post, write_route, &plain), Err(415));
        let foreign = [
            ("host", "localhost"),
            ("origin", "http://attacker.example"),
            ("authorization", "Bearer aaaaaaaaaaaaaaaaaaaa"),
        ];
        assert_eq!(ok(&get, read_route, &foreign), Err(403));
        let wrong = [("host", "localhost"), ("authorization", "Bearer nope")];
        assert_eq!(ok(&get, read_route, &wrong), Err(401));
        assert_eq!(ok(&get, Access::Open, &wrong), Ok(()));
        assert!(Guard::new("read:short", &[]).is_err());
        assert!(Guard::new("root:aaaaaaaaaaaaaaaaaaaa", &[]).is_err());
        // Without keys the doors are Host/Origin and content type only.
        let open = Guard::new("", &["yusa.internal".into()]).unwrap();
        let hs = [("host", "yusa.internal:80")];
        assert!(open.admit(&get, &h(&hs)).is_ok());
        assert!(open
            .authorize(admin_route, "POST", "/collections", &h(&hs))
            .is_ok());
    }
}
