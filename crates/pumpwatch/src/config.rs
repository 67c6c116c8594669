//! Loading the configuration: `--config FILE`, or the defaults of `config/default.toml`
//! (compiled in, so the binary behaves the same from any directory).

use std::path::Path;

use anyhow::Context as _;
use pumpwatch_core::EngineConfig;

/// The text of `config/default.toml`.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Parses and validates a config; a typo or a bad value fails with the field's name.
pub fn load(path: Option<&Path>) -> anyhow::Result<EngineConfig> {
    let (text, origin) = match path {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (DEFAULT_TOML.to_string(), "config/default.toml".to_string()),
    };
    let config: EngineConfig =
        toml::from_str(&text).with_context(|| format!("invalid config {origin}"))?;
    config
        .validate()
        .with_context(|| format!("invalid config {origin}"))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped file documents the defaults; it must say exactly what the code defaults to.
    #[test]
    fn default_toml_equals_the_built_in_defaults() {
        assert_eq!(load(None).unwrap(), EngineConfig::default());
    }
}
