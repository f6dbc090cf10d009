//! Names as registries write them: made from the name parts in `names.rs`, and
//! written another way for the same person (a name variant).

use chrono::{Datelike, NaiveDate};
use slrt_identity::Sex;

use super::Rng;
use super::census_day;
use super::names::{
    CHRISTIAN_FEMALE, CHRISTIAN_MALE, CONFUSED, DEGREES, FAMILY_NAMES, FEMALE_GIVEN, FEMALE_SECOND, FEMALE_SINGLE,
    MALE_GIVEN, MALE_SECOND, MALE_SINGLE, MUHAMMAD_WRITTEN, PREFIX_DEGREES, SPELLING_SWAPS,
};

/// A name as a registry writes it, kept in parts so that it can be written another way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WrittenName {
    prefix: Vec<String>,
    tokens: Vec<String>,
    /// "bin" or "binti", and the father's name.
    patronymic: Option<(String, String)>,
    degree: Option<String>,
    upper: bool,
}

impl WrittenName {
    pub(super) fn text(&self) -> String {
        let mut text = self.prefix.clone();
        text.extend(self.tokens.iter().cloned());
        if let Some((word, father)) = &self.patronymic {
            text.push(word.clone());
            text.push(father.clone());
        }
        let mut text = text.join(" ");
        if let Some(degree) = &self.degree {
            text.push_str(", ");
            text.push_str(degree);
        }
        if self.upper { text.to_uppercase() } else { text }
    }

    /// The first informative token, as a father's name passes to his children.
    pub(super) fn calling_name(&self) -> String {
        self.tokens
            .iter()
            .find(|token| !is_muhammad(token) && !["Siti", "Nur", "Sri"].contains(&token.as_str()))
            .or(self.tokens.last())
            .cloned()
            .unwrap_or_default()
    }
}

fn is_muhammad(token: &str) -> bool {
    MUHAMMAD_WRITTEN.iter().any(|(written, _)| *written == token)
}

fn weighted<'a>(rng: &mut Rng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.below(total as usize) as u32;
    for (item, weight) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    items[0].0
}

/// Words of a multi-word pool entry ("Abdul Rahman") as tokens.
fn words(entry: &str) -> Vec<String> {
    entry.split_whitespace().map(str::to_string).collect()
}

pub(super) fn new_name(rng: &mut Rng, sex: Sex, born: NaiveDate, father: Option<&str>) -> WrittenName {
    let year = born.year();
    let age = census_day().year() - year;
    let male = sex == Sex::Male;
    let mut tokens: Vec<String> = Vec::new();
    if rng.chance(0.05) {
        // A Christian (often Chinese-Indonesian) family.
        tokens.push(
            rng.pick(if male { CHRISTIAN_MALE } else { CHRISTIAN_FEMALE })
                .to_string(),
        );
        if rng.chance(0.7) {
            tokens.push(rng.pick(FAMILY_NAMES).to_string());
        }
        return WrittenName {
            prefix: Vec::new(),
            tokens,
            patronymic: None,
            degree: None,
            upper: false,
        };
    }
    let single_share = if year < 1965 {
        0.55
    } else if year < 1985 {
        0.25
    } else {
        0.05
    };
    let given = if male { MALE_GIVEN } else { FEMALE_GIVEN };
    let second = if male { MALE_SECOND } else { FEMALE_SECOND };
    if rng.chance(single_share) {
        tokens.push(rng.pick(if male { MALE_SINGLE } else { FEMALE_SINGLE }).to_string());
    } else {
        let leading = if male {
            rng.chance(if year < 1970 { 0.1 } else { 0.25 })
                .then(|| weighted(rng, MUHAMMAD_WRITTEN).to_string())
        } else {
            let roll = rng.below(100);
            match roll {
                0..30 => Some("Siti".to_string()),
                30..40 => Some("Nur".to_string()),
                40..48 => Some("Sri".to_string()),
                _ => None,
            }
        };
        tokens.extend(leading);
        let entry = *rng.pick(given);
        tokens.extend(words(entry));
        let more = if tokens.len() >= 2 { 0.35 } else { 0.6 };
        if rng.chance(more) {
            let next = rng.pick(second);
            if !tokens.iter().any(|token| token == next) {
                tokens.extend(words(next));
            }
        }
    }
    if year < 1970 && rng.chance(0.3) {
        tokens = tokens.iter().map(|token| to_old_spelling(token)).collect();
    }
    let mut prefix = Vec::new();
    if age >= 45 && rng.chance(0.1) {
        prefix.push(if male { "H." } else { "Hj." }.to_string());
    }
    if age >= 25 && rng.chance(0.01) {
        prefix.insert(0, rng.pick(PREFIX_DEGREES).to_string());
    }
    let degree = (age >= 23 && rng.chance(0.07)).then(|| rng.pick(DEGREES).to_string());
    let patronymic = father
        .filter(|_| rng.chance(0.12))
        .map(|father| (if male { "bin" } else { "binti" }.to_string(), father.to_string()));
    WrittenName {
        prefix,
        tokens,
        patronymic,
        degree,
        upper: false,
    }
}

fn to_old_spelling(token: &str) -> String {
    token
        .replace('j', "dj")
        .replace('J', "Dj")
        .replace('y', "j")
        .replace('Y', "J")
        .replace('c', "tj")
        .replace('C', "Tj")
        .replace('u', "oe")
        .replace('U', "Oe")
}

fn to_new_spelling(token: &str) -> String {
    let old = ["oe", "dj", "tj", "Oe", "Dj", "Tj"]
        .iter()
        .any(|mark| token.contains(mark));
    if !old {
        return token.to_string();
    }
    token
        .replace("oe", "u")
        .replace("Oe", "U")
        .replace("dj", "\u{1}")
        .replace("Dj", "\u{2}")
        .replace("tj", "c")
        .replace("Tj", "C")
        .replace('j', "y")
        .replace('J', "Y")
        .replace('\u{1}', "j")
        .replace('\u{2}', "J")
}

#[derive(Debug, Clone, Copy)]
enum Variation {
    MuhammadSpelling,
    DropLeadingCommon,
    Title,
    Degree,
    Spelling1972,
    Initial,
    DropToken,
    Patronymic,
    Typo,
    SpellingVariant,
    JoinOrSplit,
}

const VARIATIONS: [Variation; 11] = [
    Variation::MuhammadSpelling,
    Variation::DropLeadingCommon,
    Variation::Title,
    Variation::Degree,
    Variation::Spelling1972,
    Variation::Initial,
    Variation::DropToken,
    Variation::Patronymic,
    Variation::Typo,
    Variation::SpellingVariant,
    Variation::JoinOrSplit,
];

/// The same person's name written another way: one variation, sometimes two, sometimes in
/// capitals. Never the same text.
pub(super) fn vary_name(rng: &mut Rng, name: &WrittenName, sex: Sex, age: i32, father: Option<&str>) -> WrittenName {
    let mut varied = name.clone();
    let wanted = if rng.chance(0.3) { 2 } else { 1 };
    let mut applied = 0;
    for _ in 0..40 {
        if applied == wanted {
            break;
        }
        let variation = *rng.pick(&VARIATIONS);
        let before = varied.clone();
        apply(rng, &mut varied, variation, sex, age, father);
        if varied != before {
            applied += 1;
        }
    }
    if rng.chance(0.2) {
        varied.upper = !varied.upper;
    }
    if varied.text() == name.text() {
        varied.upper = !name.upper;
    }
    varied
}

fn apply(rng: &mut Rng, name: &mut WrittenName, variation: Variation, sex: Sex, age: i32, father: Option<&str>) {
    let male = sex == Sex::Male;
    let count = name.tokens.len();
    match variation {
        Variation::MuhammadSpelling => {
            // Only a man's: a woman's "M." is Maryam's initial.
            if !male {
                return;
            }
            if let Some(at) = name.tokens.iter().position(|token| is_muhammad(token)) {
                name.tokens[at] = weighted(rng, MUHAMMAD_WRITTEN).to_string();
            } else if male && count == 1 && rng.chance(0.3) {
                name.tokens.insert(0, weighted(rng, MUHAMMAD_WRITTEN).to_string());
            }
        }
        Variation::DropLeadingCommon => {
            if count >= 2 && (is_muhammad(&name.tokens[0]) || ["Siti", "Nur", "Sri"].contains(&name.tokens[0].as_str()))
            {
                name.tokens.remove(0);
            }
        }
        Variation::Title => {
            if !name.prefix.is_empty() {
                name.prefix.clear();
            } else if age >= 30 {
                name.prefix.push(if male { "H." } else { "Hj." }.to_string());
            }
        }
        Variation::Degree => {
            if name.degree.is_some() {
                name.degree = None;
            } else if age >= 23 {
                name.degree = Some(rng.pick(DEGREES).to_string());
            }
        }
        Variation::Spelling1972 => {
            let old = name.tokens.iter().any(|token| to_new_spelling(token) != *token);
            name.tokens = name
                .tokens
                .iter()
                .map(|token| {
                    if old {
                        to_new_spelling(token)
                    } else if age >= 45 {
                        to_old_spelling(token)
                    } else {
                        token.clone()
                    }
                })
                .collect();
        }
        Variation::Initial => {
            if count >= 2 {
                let at = rng.below(count - 1);
                let token = &name.tokens[at];
                if token.len() >= 3 && !token.ends_with('.') {
                    let initial: String = token.chars().take(1).collect();
                    name.tokens[at] = format!("{initial}.");
                }
            }
        }
        Variation::DropToken => {
            if count >= 3 {
                let at = 1 + rng.below(count - 1);
                name.tokens.remove(at);
            }
        }
        Variation::Patronymic => {
            if name.patronymic.is_some() {
                name.patronymic = None;
            } else if let Some(father) = father {
                name.patronymic = Some((if male { "bin" } else { "binti" }.to_string(), father.to_string()));
            }
        }
        Variation::Typo => {
            let candidates: Vec<usize> = (0..count).filter(|&at| name.tokens[at].len() >= 5).collect();
            if candidates.is_empty() {
                return;
            }
            let at = *rng.pick(&candidates);
            let mut chars: Vec<char> = name.tokens[at].chars().collect();
            let position = 1 + rng.below(chars.len() - 1);
            let lower = chars[position].to_ascii_lowercase();
            let options: Vec<char> = CONFUSED
                .iter()
                .filter(|(from, _)| *from == lower)
                .map(|(_, to)| *to)
                .collect();
            if let Some(&to) = options.first() {
                chars[position] = to;
            } else {
                chars.remove(position);
            }
            name.tokens[at] = chars.into_iter().collect();
        }
        Variation::SpellingVariant => {
            let at = rng.below(count.max(1));
            let Some(token) = name.tokens.get(at).cloned() else {
                return;
            };
            let swaps = SPELLING_SWAPS;
            let start = rng.below(swaps.len());
            for offset in 0..swaps.len() {
                let (from, to) = swaps[(start + offset) % swaps.len()];
                // Word-final for the vowel and final-h swaps, anywhere inside for the rest.
                let final_only = matches!(from, "y" | "i" | "ah");
                let changed = if final_only {
                    token.strip_suffix(from).map(|stem| format!("{stem}{to}"))
                } else {
                    token.get(1..).filter(|rest| rest.contains(from)).map(|_| {
                        let (head, rest) = token.split_at(1);
                        format!("{head}{}", rest.replacen(from, to, 1))
                    })
                };
                if let Some(changed) = changed.filter(|changed| changed.len() >= 3) {
                    name.tokens[at] = changed;
                    return;
                }
            }
        }
        Variation::JoinOrSplit => {
            // Desks join a short leading name to the next ("Nurhaliza", "Sitiaminah"), and
            // leave at least two words of a longer name.
            let joinable = (0..count.saturating_sub(1)).find(|&at| {
                ["Nur", "Siti", "Sri", "Abdul"].contains(&name.tokens[at].as_str())
                    && name.tokens[at + 1].len() >= 3
                    && (count == 2 || count > 3)
            });
            let splittable = name.tokens.iter().position(|token| {
                ["Nur", "Abdul", "Sri"]
                    .iter()
                    .any(|head| token.len() > head.len() + 2 && token.starts_with(head))
            });
            if let Some(at) = splittable {
                let token = name.tokens[at].clone();
                let head = ["Nur", "Abdul", "Sri"]
                    .into_iter()
                    .find(|head| token.starts_with(head))
                    .unwrap_or_default();
                let rest = &token[head.len()..];
                let mut tail = rest.to_string();
                if let Some(first) = tail.get(..1) {
                    tail = format!("{}{}", first.to_uppercase(), &tail[1..]);
                }
                name.tokens.splice(at..=at, [head.to_string(), tail]);
            } else if let Some(at) = joinable {
                let joined = format!("{}{}", name.tokens[at], name.tokens[at + 1].to_lowercase());
                name.tokens.splice(at..=at + 1, [joined]);
            }
        }
    }
}
