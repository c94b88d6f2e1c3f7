//! Caps on what one provider call may make the operator read or hold, so a hostile or broken
//! endpoint cannot exhaust memory or keep a call going for ever (see `docs/security.md`).

use secretsync_model::ProviderError;

/// Read limits, the same for every provider (operator flags `--provider-max-*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest response body read from a provider endpoint (default 8 MiB); a longer one is
    /// abandoned after that many bytes.
    pub max_response_bytes: usize,
    /// Most remote secrets one `find` may return (default 1,000).
    pub max_find_results: usize,
    /// Most pages (`nextLink`, `NextToken`) or LIST calls one listing may take (default 500).
    pub max_list_pages: usize,
    /// Deepest folder level a recursive Vault LIST descends to (default 16).
    pub max_list_depth: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_response_bytes: 8 * 1024 * 1024,
            max_find_results: 1000,
            max_list_pages: 500,
            max_list_depth: 16,
        }
    }
}

impl ReadLimits {
    /// Checks the number of `find` results; `what` names the store and the search.
    pub fn check_find_results(&self, found: usize, what: &str) -> Result<(), ProviderError> {
        if found > self.max_find_results {
            return Err(ProviderError::BadResponse(format!(
                "{what}: find matched more than {} remote secrets (the operator's \
                 --provider-max-find-results); narrow find.name.regexp, find.path or find.tags",
                self.max_find_results
            )));
        }
        Ok(())
    }

    /// Checks the number of pages (or LIST calls) a listing took so far.
    pub fn check_pages(&self, pages: usize, what: &str) -> Result<(), ProviderError> {
        if pages > self.max_list_pages {
            return Err(ProviderError::BadResponse(format!(
                "{what}: the listing needs more than {} pages (the operator's \
                 --provider-max-list-pages); narrow the search",
                self.max_list_pages
            )));
        }
        Ok(())
    }

    /// Checks the folder depth of a recursive LIST.
    pub fn check_depth(&self, depth: usize, what: &str) -> Result<(), ProviderError> {
        if depth > self.max_list_depth {
            return Err(ProviderError::BadResponse(format!(
                "{what}: folders nest deeper than {} levels (the operator's \
                 --provider-max-list-depth); narrow find.path",
                self.max_list_depth
            )));
        }
        Ok(())
    }

    /// The error for a response body over [`max_response_bytes`](Self::max_response_bytes).
    pub fn body_too_large(&self, what: &str) -> ProviderError {
        ProviderError::BadResponse(format!(
            "{what}: the response is larger than {} bytes (the operator's \
             --provider-max-response-bytes); it was not read further",
            self.max_response_bytes
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_limit() {
        let l = ReadLimits {
            max_response_bytes: 10,
            max_find_results: 2,
            max_list_pages: 3,
            max_list_depth: 1,
        };
        assert!(l.check_find_results(2, "x").is_ok());
        let e = l.check_find_results(3, "store s").expect_err("over");
        assert!(e.to_string().contains("--provider-max-find-results"), "{e}");
        assert!(l.check_pages(3, "x").is_ok());
        assert!(l.check_pages(4, "x").is_err());
        assert!(l.check_depth(1, "x").is_ok());
        assert!(l.check_depth(2, "x").is_err());
        assert!(l.body_too_large("x").to_string().contains("10 bytes"));
    }
}
