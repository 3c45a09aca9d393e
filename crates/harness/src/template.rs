//! The placeholders of a manifest's commands and paths: `{name}` filled from a table, `{{` and
//! `}}` for literal braces.

use std::collections::BTreeMap;

/// Why a template cannot be filled.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unmatched '}}' in {0:?} (write '}}}}' for a literal brace)")]
    Unmatched(String),
    #[error("unclosed '{{' in {0:?}")]
    Unclosed(String),
    #[error("unknown placeholder {{{key}}}; allowed: {allowed}")]
    Unknown { key: String, allowed: String },
}

/// Fills `{name}` placeholders; `{{` and `}}` stand for literal braces.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(TemplateError::Unmatched(template.into()));
        }
        let end = tail.find('}').ok_or_else(|| TemplateError::Unclosed(template.into()))?;
        let key = &tail[1..end];
        match vars.get(key) {
            Some(v) => out.push_str(v),
            None => {
                let allowed: Vec<String> = vars.keys().map(|k| format!("{{{k}}}")).collect();
                return Err(TemplateError::Unknown {
                    key: key.into(),
                    allowed: allowed.join(", "),
                });
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
