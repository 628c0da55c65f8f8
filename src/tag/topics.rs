//! The user's topics (`[[topics]]`): a story gets a topic when its text holds one of `any`, all
//! of `all` and none of `none`.
//!
//! Owns the topic type the config file uses and its compiled form. Never: reads the config
//! module, or looks at countries and regions.

use serde::{Deserialize, Serialize};

use super::{TagError, Tagger, Text};

/// One `[[topics]]` entry: a story gets the topic when its title, dateline or body holds one of
/// `any`, all of `all` and none of `none`. Each is a word or phrase (whole words, any case), or a
/// regular expression written `re:PATTERN`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TopicSpec {
    pub name: String,
    pub any: Vec<String>,
    #[serde(default)]
    pub all: Vec<String>,
    #[serde(default)]
    pub none: Vec<String>,
}

/// The user's topic, compiled.
#[derive(Debug, Clone)]
pub(super) struct Topic {
    name: String,
    any: Vec<regex::Regex>,
    all: Vec<regex::Regex>,
    none: Vec<regex::Regex>,
}

impl Tagger {
    pub(super) fn topics_of(&self, text: Text<'_>) -> Vec<String> {
        if self.topics.is_empty() {
            return Vec::new();
        }
        let all = format!(
            "{}\n{}\n{}",
            text.title,
            text.dateline.unwrap_or(""),
            text.body
        );
        self.topics
            .iter()
            .filter(|t| {
                t.any.iter().any(|r| r.is_match(&all))
                    && t.all.iter().all(|r| r.is_match(&all))
                    && !t.none.iter().any(|r| r.is_match(&all))
            })
            .map(|t| t.name.clone())
            .collect()
    }
}

pub(super) fn compile(t: &TopicSpec) -> Result<Topic, TagError> {
    let phrase = |p: &String| -> Result<regex::Regex, TagError> {
        let pattern = match p.strip_prefix("re:") {
            Some(re) => re.to_owned(),
            None => format!(r"(?i)\b{}\b", regex::escape(p.trim()).replace(' ', r"\s+")),
        };
        regex::Regex::new(&pattern)
            .map_err(|e| TagError(format!("topic `{}`: pattern `{p}`: {e}", t.name)))
    };
    let list = |v: &[String]| v.iter().map(phrase).collect::<Result<Vec<_>, _>>();
    Ok(Topic {
        name: t.name.clone(),
        any: list(&t.any)?,
        all: list(&t.all)?,
        none: list(&t.none)?,
    })
}
