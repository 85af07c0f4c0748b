//! One policy for every request the server sends to an address a tenant
//! chose — webhooks, blue-green switch webhooks, Prometheus: http(s) only; no
//! loopback, private, link-local or otherwise internal address unless the
//! operator allows it (`HOTSWAP_ALLOW_PRIVATE_TARGETS`), checked on the
//! addresses DNS actually returns; no redirects, no proxies, a timeout and a
//! cap on what is read back. Errors say what went wrong in a few words and
//! never echo what the other side sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// Which internal addresses the operator lets the server reach.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum PrivateTargets {
    /// None (the default): only public addresses.
    #[default]
    Refused,
    /// These ranges, e.g. a load balancer's subnet.
    Ranges(Vec<IpNet>),
    /// Any (`true`): for tests, demos and closed networks.
    All,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundPolicy {
    pub private_targets: PrivateTargets,
}

impl OutboundPolicy {
    /// `HOTSWAP_ALLOW_PRIVATE_TARGETS`: `true`, `false`, or CIDR ranges
    /// separated by commas (`10.1.0.0/16,127.0.0.1/32`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let private_targets = match text.trim() {
            "" | "false" | "no" | "0" => PrivateTargets::Refused,
            "true" | "yes" | "1" | "all" => PrivateTargets::All,
            list => PrivateTargets::Ranges(
                list.split(',')
                    .map(|range| {
                        let range = range.trim();
                        range
                            .parse::<IpNet>()
                            .or_else(|_| range.parse::<IpAddr>().map(IpNet::from))
                            .map_err(|_| format!("{range:?} is not an address or a CIDR range"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Self { private_targets })
    }

    /// Whether the server may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if !is_internal(ip) {
            return true;
        }
        match &self.private_targets {
            PrivateTargets::Refused => false,
            PrivateTargets::All => true,
            PrivateTargets::Ranges(ranges) => ranges.iter().any(|r| r.contains(&ip)),
        }
    }

    /// Checks a URL as a tenant gives it: http or https, a host, no
    /// credentials, and a host that is not an internal address or name.
    /// Names are checked again on every connection, after DNS.
    pub fn check_url(&self, text: &str) -> Result<url::Url, String> {
        if text.len() > 2048 || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("not a valid URL".into());
        }
        let url = url::Url::parse(text).map_err(|_| "not a valid URL".to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("only http:// and https:// addresses".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "credentials in the address are not allowed; use the secret instead".into(),
            );
        }
        let refused = || {
            "an internal address (loopback, private or link-local), which the server's operator has not allowed"
                .to_string()
        };
        match url.host() {
            None => Err("the address needs a host".into()),
            Some(url::Host::Ipv4(ip)) if !self.allows(IpAddr::V4(ip)) => Err(refused()),
            Some(url::Host::Ipv6(ip)) if !self.allows(IpAddr::V6(ip)) => Err(refused()),
            Some(url::Host::Domain(name))
                if self.private_targets == PrivateTargets::Refused && is_local_name(name) =>
            {
                Err(refused())
            }
            Some(_) => Ok(url),
        }
    }
}

/// IPv4 written as IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
}

/// Loopback, private, link-local (cloud metadata), shared, reserved,
/// multicast, documentation and unspecified addresses.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 of any IPv4
        || ip.to_ipv4().is_some_and(is_internal_v4) // IPv4-compatible forms
}

/// Why an outgoing request failed, in words safe to show a tenant.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out")]
    Timeout,
    #[error("could not connect")]
    Connect,
    #[error("the answer was larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request failed")]
    Failed,
}

impl From<reqwest::Error> for OutboundError {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            // The resolver's refusal surfaces as a connect error.
            let text = format!("{error:?}");
            if text.contains(REFUSED_BY_POLICY) {
                Self::Refused("the name resolves to an internal address".into())
            } else {
                Self::Connect
            }
        } else {
            Self::Failed
        }
    }
}

const REFUSED_BY_POLICY: &str = "resolves only to internal addresses";

/// An HTTP client that holds to the policy.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

impl Outbound {
    pub fn new(policy: OutboundPolicy, timeout: Duration) -> Self {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver(policy.clone())))
            .build()
            .expect("the outgoing HTTP client builds (it needs nothing but TLS)");
        Self { client, policy }
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// A request to `url` once it passes the policy. Literal addresses are
    /// checked here (they never reach the resolver); names when connecting.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        let url = self.policy.check_url(url).map_err(OutboundError::Refused)?;
        Ok(self.client.request(method, url))
    }
}

/// Reads at most `limit` bytes of an answer's body.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, OutboundError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(OutboundError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(OutboundError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// DNS that drops the addresses the policy refuses, so a name that points
/// at an internal address (or is re-pointed there later) is never reached.
struct PolicyResolver(Arc<OutboundPolicy>);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} {REFUSED_BY_POLICY}").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        for url in [
            "http://127.0.0.1:9090/",
            "http://127.1/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0.0.0.0/",
            "http://10.0.0.5/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://metadata.google.internal/",
            "http://api.localhost/",
        ] {
            assert!(refused().check_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn public_addresses_and_names_pass() {
        for url in [
            "https://hooks.slack.com/services/x",
            "http://93.184.216.34/",
            "https://[2606:4700::1111]/",
        ] {
            assert!(refused().check_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn odd_urls_are_refused() {
        for url in [
            "file:///etc/passwd",
            "gopher://example.com/",
            "ftp://example.com/",
            "http://user:pass@example.com/",
            "http://exa mple.com/",
            "http://example.com/\n",
        ] {
            assert!(refused().check_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn the_operator_can_allow_ranges_or_everything() {
        let ranges = OutboundPolicy::parse("10.1.0.0/16, 127.0.0.1").expect("parses");
        assert!(ranges.check_url("http://10.1.2.3/").is_ok());
        assert!(ranges.check_url("http://127.0.0.1:9/").is_ok());
        assert!(ranges.check_url("http://10.2.0.1/").is_err());
        let all = OutboundPolicy::parse("true").expect("parses");
        assert!(all.check_url("http://127.0.0.1/").is_ok());
        assert!(all.check_url("http://localhost/").is_ok());
        assert_eq!(
            OutboundPolicy::parse("false"),
            Ok(OutboundPolicy::default())
        );
        assert!(OutboundPolicy::parse("10.0.0.0/99").is_err());
    }
}
