//! Where a browser may be sent after signing in: only a path of this site.

/// `next` when it is a plain local path, else `/`. Browsers drop tabs and
/// newlines inside URLs and read `\` as `/`, so `/\t/evil.example` or
/// `/\evil.example` would leave the site: anything with a control character,
/// whitespace or a backslash, and anything starting `//`, is refused.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path[1..].starts_with('/')
                && !path
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn local_paths_pass() {
        for path in ["/", "/deployments/4", "/deploy?module=app&version=1.0.0"] {
            assert_eq!(local_path(Some(path)), path);
        }
    }

    #[test]
    fn anything_that_leaves_the_site_is_refused() {
        for path in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r//evil.example",
            "/\\evil.example",
            "/%09/evil.example/\\",
            " //evil.example",
            "https://evil.example",
            "evil.example",
            "/ /evil",
            "/\u{0}x",
        ] {
            assert_eq!(local_path(Some(path)), "/", "{path:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
