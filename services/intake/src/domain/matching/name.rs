//! Names as desks write them, reduced to what identifies a person, and compared.
//!
//! The same person is written "MUHAMMAD RIZKI", "Moh. Rizki", "M. Rizky" or "H. Muhammad
//! Rizki, S.Pd.", and an older one "Soepardi" or "Supardi" depending on the spelling of the
//! year the card was made. Normalisation removes what does not identify (case, punctuation,
//! titles and degrees), brings spelling variants to one form, and keeps the part after
//! bin/binti apart as the father's name. Similarity then aligns the tokens of two names as a
//! bag (order varies), scoring each pair with Jaro-Winkler, and weighs each token by how
//! much it tells: "Muhammad" and "Siti" are shared by millions.

/// Titles written before a name: Haji/Hajjah, academic and professional titles, forms of
/// address. Compared without dots.
const PREFIX_TITLES: &[&str] = &[
    "h", "hj", "haji", "hajah", "hajjah", "dr", "drs", "dra", "drg", "ir", "prof", "kh", "ust", "ustadz", "ustaz",
    "ustadzah", "ny", "nyonya", "tn", "tuan", "sdr", "sdri", "bpk", "bapak", "ibu", "raden", "rr",
];

/// Degrees written after a name, without dots. Two-letter ones (`se`, `sh`, ...) could be a
/// name's last token, so they are taken for degrees only when written with dots, in parts
/// (`S. E.`) or after a comma.
const DEGREES: &[&str] = &[
    "spd", "spdi", "skom", "amd", "amdkep", "amdkeb", "amkep", "amkeb", "ama", "ssos", "sag", "sip", "ssi", "skep",
    "sked", "sfarm", "sthi", "sst", "ssy", "sei", "shi", "stp", "mpd", "msi", "mkes", "mag", "mba", "phd", "msc",
    "bsc", "mkom", "mhum", "se", "sh", "st", "sp", "ske", "mm", "mh", "mt", "ma", "ak", "lc", "ba",
];

/// Written between a person's own name and the father's: "Ahmad bin Abdullah".
const PATRONYMIC: &[&str] = &["bin", "binti", "bt", "bte", "binte"];

/// Spellings and abbreviations of Muhammad, as written (without dots); every one becomes
/// [`MUHAMMAD`].
const MUHAMMAD_SPELLINGS: &[&str] = &[
    "muhammad",
    "muhamad",
    "muhammed",
    "muhamed",
    "mohammad",
    "mohamad",
    "mohammed",
    "mohamed",
    "mochammad",
    "mochamad",
    "muchammad",
    "muchamad",
    "mukhammad",
    "mukhamad",
    "muhamat",
    "mohamat",
    "mochamat",
    "moh",
    "moch",
    "mochd",
    "mohd",
    "muh",
    "muhd",
    "mhd",
    "md",
];

/// Full spellings of Muhammad that a mistyped one ("Mohammat", "Muhammmad") is still close to.
const MUHAMMAD_FULL: &[&str] = &["muhammad", "muhamad", "mohammad", "mohamad", "mochammad"];

/// Whether a written token is Muhammad: a known spelling, or a full one with a slip of the
/// keyboard (as close as 0.9 in Jaro-Winkler, which "mahmud" and "muhaimin" are not).
fn is_muhammad(token: &str) -> bool {
    MUHAMMAD_SPELLINGS.contains(&token)
        || (token.starts_with('m')
            && (6..=10).contains(&token.len())
            && MUHAMMAD_FULL.iter().any(|full| jaro_winkler(token, full) >= 0.9))
}

/// The one token every spelling of Muhammad becomes.
pub const MUHAMMAD: &str = "muhammad";

/// At most this many tokens of a name are kept; no real name comes near it.
const MAX_TOKENS: usize = 12;

/// Tokens shared by so many people that agreeing on them says little, with their weight
/// (a token not listed weighs 1). An initial that matches nothing weighs [`INITIAL_WEIGHT`].
const COMMON_TOKENS: &[(&str, f64)] = &[
    (MUHAMMAD, 0.25),
    ("siti", 0.4),
    ("nur", 0.4),
    ("sri", 0.4),
    ("abdul", 0.4),
    ("i", 0.3),
    ("ni", 0.3),
    ("luh", 0.3),
    ("putu", 0.4),
    ("gede", 0.4),
    ("wayan", 0.4),
    ("made", 0.4),
    ("kadek", 0.4),
    ("nyoman", 0.4),
    ("komang", 0.4),
    ("ketut", 0.4),
    ("gusti", 0.4),
    ("ayu", 0.5),
    ("ahmad", 0.6),
    ("dwi", 0.6),
    ("tri", 0.6),
    ("eka", 0.6),
];

const INITIAL_WEIGHT: f64 = 0.3;

/// How much an initial agrees with a token that starts with its letter: "A. Fauzi" and
/// "Ahmad Fauzi" are likely, not certainly, the same name.
const INITIAL_AGREEMENT: f64 = 0.85;

/// Two tokens whose Jaro-Winkler similarity is below this are different names, not spelling
/// variants: "rizki"/"riski" is 0.89 and "suparmi"/"suparni" 0.94, but "rizki"/"rizal" is 0.81.
const TOKEN_FLOOR: f64 = 0.85;

/// Tokens of at least this many letters that are one keystroke apart are a typo's worth
/// alike; shorter ones ("rini" / "rina") are as likely two names.
const MIN_TYPO_LENGTH: f64 = 5.0;

/// A joined token agrees with a written one only from this plain Jaro similarity.
const JOINED_FLOOR: f64 = 0.9;

/// Tokens of very different lengths are different names however they start ("budi" and
/// "budiman"), whatever Jaro-Winkler's bonus for a shared prefix says.
const MIN_LENGTH_RATIO: f64 = 0.7;

/// A token present in one name only counts this much of its weight against the similarity:
/// dropping a middle name ("Muhammad Rizki Pratama" / "Muhammad Rizki") is common, and
/// weaker evidence than two tokens that disagree.
const ONE_SIDED_PENALTY: f64 = 0.35;

/// A name reduced to what identifies a person.
///
/// Every written form of Muhammad becomes [`MUHAMMAD`], except a bare "M.", which stays the
/// initial `m`: it agrees fully with Muhammad in [`name_similarity`], and like any initial
/// with another name starting with M.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalisedName {
    /// The person's own name: lower-case ASCII tokens in written order, without titles and
    /// degrees, spelling unified, Muhammad as [`MUHAMMAD`].
    pub given: Vec<String>,
    /// What followed bin/binti, normalised the same way; empty when not written.
    pub father: Vec<String>,
}

impl NormalisedName {
    /// Normalises a name as written at a desk or in a registry.
    pub fn parse(full_name: &str) -> Self {
        let mut tokens = tokenise(full_name);
        strip_titles(&mut tokens);
        let split = tokens
            .iter()
            .position(|token| PATRONYMIC.contains(&token.text.as_str()))
            .filter(|&at| at > 0 && at + 1 < tokens.len());
        let (given, father) = match split {
            Some(at) => {
                let mut father = tokens.split_off(at + 1);
                tokens.truncate(at);
                // "binti H. Slamet": the father's titles go too.
                strip_leading_titles(&mut father);
                (tokens, father)
            }
            None => (tokens, Vec::new()),
        };
        Self {
            given: canonical_tokens(&given),
            father: canonical_tokens(&father),
        }
    }

    /// Whether nothing of the name is left: it had no letters. (A name that is only a title
    /// keeps it.)
    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }
}

impl std::fmt::Display for NormalisedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.given.join(" "))?;
        if !self.father.is_empty() {
            write!(f, " bin {}", self.father.join(" "))?;
        }
        Ok(())
    }
}

/// How alike two people's own names are, from 0 (nothing in common) to 1 (the same after
/// normalisation). The father's names are not part of it; compare them with
/// [`father_similarity`] when both are written.
pub fn name_similarity(a: &NormalisedName, b: &NormalisedName) -> f64 {
    token_similarity_of(&a.given, &b.given)
}

/// How alike two lists of name tokens are, 0 to 1, in any order, allowing one name to write
/// as one token what the other writes as two ("Nurhaliza" / "Nur Haliza").
pub fn token_similarity_of(a: &[String], b: &[String]) -> f64 {
    Joinings::of(a).similarity(a, b, &Joinings::of(b))
}

/// How alike two fathers' names (after bin/binti) are, 0 to 1: [`token_similarity_of`], but a
/// name written shorter, every word of it found in the other ("Abdul" / "Abdul Rahman
/// Hakim"), is [`SHORTENED_FATHER`] alike rather than different: a father is often named by
/// his first name alone.
pub fn father_similarity(a: &[String], b: &[String]) -> f64 {
    let (shorter, longer) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let contained = !shorter.is_empty()
        && shorter
            .iter()
            .all(|token| longer.iter().any(|other| token_similarity(token, other) >= 0.9));
    let similarity = token_similarity_of(a, b);
    if contained {
        similarity.max(SHORTENED_FATHER)
    } else {
        similarity
    }
}

/// How alike a father's name written shorter is to the whole: weak, neither for nor against.
pub const SHORTENED_FATHER: f64 = 0.8;

/// A name's tokens with each pair of neighbours joined, made once per name rather than once
/// per comparison.
#[derive(Debug, Clone, Default)]
pub(crate) struct Joinings(Vec<(Vec<String>, usize)>);

impl Joinings {
    pub(crate) fn of(tokens: &[String]) -> Self {
        Self(adjacent_merges(tokens).collect())
    }

    /// [`token_similarity_of`] of `a` (whose joinings these are) and `b`.
    pub(crate) fn similarity(&self, a: &[String], b: &[String], b_joinings: &Joinings) -> f64 {
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        if a == b {
            return 1.0;
        }
        let mut best = aligned(a, b, None, None);
        for (merged, at) in &self.0 {
            best = best.max(aligned(merged, b, Some(*at), None));
        }
        for (merged, at) in &b_joinings.0 {
            best = best.max(aligned(a, merged, None, Some(*at)));
        }
        best
    }
}

/// Jaro-Winkler similarity of two strings, by byte (names are ASCII once normalised), with
/// the usual prefix scale 0.1 over at most four characters.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let jaro = jaro(a.as_bytes(), b.as_bytes());
    let prefix = a.bytes().zip(b.bytes()).take(4).take_while(|(x, y)| x == y).count();
    jaro + prefix as f64 * 0.1 * (1.0 - jaro)
}

/// Jaro similarity over the first 64 bytes of each (no name token comes near that), with
/// the matched letters kept in bit sets rather than allocated.
fn jaro(a: &[u8], b: &[u8]) -> f64 {
    let (a, b) = (&a[..a.len().min(64)], &b[..b.len().min(64)]);
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (mut a_matched, mut b_matched) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, &x) in a.iter().enumerate() {
        let low = i.saturating_sub(window);
        let high = (i + window + 1).min(b.len());
        if let Some(j) = (low..high).find(|&j| b_matched & (1 << j) == 0 && b[j] == x) {
            a_matched |= 1 << i;
            b_matched |= 1 << j;
            matches += 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let half_transpositions = in_order(a, a_matched)
        .zip(in_order(b, b_matched))
        .filter(|(x, y)| x != y)
        .count();
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - (half_transpositions / 2) as f64) / m) / 3.0
}

/// The letters of `text` whose bit is set in `matched`, in order.
fn in_order(text: &[u8], matched: u64) -> impl Iterator<Item = u8> + '_ {
    text.iter()
        .enumerate()
        .filter(move |(i, _)| matched & (1 << i) != 0)
        .map(|(_, letter)| *letter)
}

/// Keys for finding people whose names sound alike: one per informative token (three letters
/// or more, not a common token), a Soundex-like code that ignores vowels and merges letters
/// desks confuse (z/s, k/q/c/g/j, d/t, b/p/f/v, m/n).
pub(crate) fn phonetic_keys(name: &NormalisedName) -> Vec<u32> {
    let mut keys: Vec<u32> = name
        .given
        .iter()
        .filter(|token| token.len() >= 3 && token_weight(token) >= 0.5)
        .map(|token| phonetic(token))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn phonetic(token: &str) -> u32 {
    fn code(letter: u8) -> u32 {
        match letter {
            b'b' | b'f' | b'p' | b'v' => 1,
            b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => 2,
            b'd' | b't' => 3,
            b'l' => 4,
            b'm' | b'n' => 5,
            b'r' => 6,
            _ => 0,
        }
    }
    let bytes = token.as_bytes();
    // The first letter is kept as a letter, but y and j are one (old spelling writes Yusuf
    // as Jusuf) and so are the vowels.
    let first = match bytes.first() {
        Some(b'y') => b'j',
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => b'a',
        Some(&letter) => letter,
        None => 0,
    };
    let mut codes = [0u32; 3];
    let mut found = 0;
    let mut previous = code(bytes.first().copied().unwrap_or_default());
    for &letter in bytes.iter().skip(1) {
        let current = code(letter);
        if current != 0 && current != previous {
            codes[found] = current;
            found += 1;
            if found == codes.len() {
                break;
            }
        }
        previous = current;
    }
    u32::from(first) << 12 | codes[0] << 8 | codes[1] << 4 | codes[2]
}

#[derive(Debug, Clone)]
struct RawToken {
    text: String,
    /// Written with a dot after it: "H.", "S.Pd." (as "s." and "pd.").
    dotted: bool,
    /// Written after a comma: "Budi, S.E.".
    after_comma: bool,
}

fn tokenise(full_name: &str) -> Vec<RawToken> {
    fn flush(current: &mut String, dotted: bool, after_comma: bool, tokens: &mut Vec<RawToken>) {
        if !current.is_empty() && tokens.len() < MAX_TOKENS * 2 {
            tokens.push(RawToken {
                text: std::mem::take(current),
                dotted,
                after_comma,
            });
        }
        current.clear();
    }
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut after_comma = false;
    for c in full_name.chars() {
        if let Some(letter) = fold(c) {
            current.push(letter);
        } else if matches!(c, '\'' | '`' | '\u{2019}' | '\u{2018}' | '\u{2bc}') {
            // Ma'ruf, Nu'man: the apostrophe joins, it does not separate.
        } else {
            flush(&mut current, c == '.', after_comma, &mut tokens);
            if c == ',' {
                after_comma = true;
            }
        }
    }
    flush(&mut current, false, after_comma, &mut tokens);
    tokens
}

/// Lower-case ASCII for a letter, accents removed; `None` for anything else.
fn fold(c: char) -> Option<char> {
    let lower = c.to_lowercase().next().unwrap_or(c);
    if lower.is_ascii_lowercase() {
        return Some(lower);
    }
    let base = match lower {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        _ => return None,
    };
    Some(base)
}

/// Removes titles from the front, always leaving one token.
fn strip_leading_titles(tokens: &mut Vec<RawToken>) {
    let leading = tokens
        .iter()
        .take_while(|token| PREFIX_TITLES.contains(&token.text.as_str()))
        .count()
        .min(tokens.len().saturating_sub(1));
    tokens.drain(..leading);
}

/// Removes titles from the front and degrees from the end, always leaving one token. What
/// follows a comma and is not a degree stays part of the name.
fn strip_titles(tokens: &mut Vec<RawToken>) {
    strip_leading_titles(tokens);
    'strip: while tokens.len() > 1 {
        for parts in (1..=3).rev() {
            if parts >= tokens.len() {
                continue;
            }
            let group = &tokens[tokens.len() - parts..];
            let joined: String = group.iter().map(|token| token.text.as_str()).collect();
            if !DEGREES.contains(&joined.as_str()) {
                continue;
            }
            let written_as_degree = parts > 1 && group[..parts - 1].iter().all(|token| token.dotted)
                || group.iter().all(|token| token.dotted || token.after_comma)
                || joined.len() >= 3;
            if written_as_degree {
                tokens.truncate(tokens.len() - parts);
                continue 'strip;
            }
        }
        break;
    }
}

fn canonical_tokens(tokens: &[RawToken]) -> Vec<String> {
    tokens
        .iter()
        .take(MAX_TOKENS)
        .map(|token| {
            if is_muhammad(&token.text) {
                MUHAMMAD.to_string()
            } else {
                respell(&token.text)
            }
        })
        .collect()
}

/// Brings one token to a single spelling.
///
/// A word showing a mark of the pre-1972 spelling (oe, dj, tj, sj, nj, ch) is read wholly in
/// that spelling, so its j is a y as well: Soerjadi is Suryadi. A j elsewhere stays, because
/// Joko is not Yoko. Then, for every word: kh/ch/dh/th/ph/sy/q written as h/h/d/t/f/s/k,
/// doubled letters single, "ie" as "i", a final y after a consonant as i (Rizky), and a final
/// h after a vowel dropped (Fatimah / Fatima).
pub(crate) fn respell(word: &str) -> String {
    let old_spelling = ["oe", "dj", "tj", "sj", "nj", "ch"]
        .iter()
        .any(|mark| word.contains(mark));
    let mut text = word.to_string();
    if old_spelling {
        // A placeholder keeps the j of dj from becoming a y with the others.
        text = text
            .replace("oe", "u")
            .replace("dj", "\u{1}")
            .replace("tj", "c")
            .replace("sj", "sy")
            .replace("nj", "ny")
            .replace('j', "y")
            .replace('\u{1}', "j");
    }
    text = text
        .replace("ch", "h")
        .replace("kh", "h")
        .replace("dh", "d")
        .replace("th", "t")
        .replace("ph", "f")
        .replace("sy", "s")
        .replace('q', "k")
        .replace("ie", "i");
    let mut single = String::with_capacity(text.len());
    for c in text.chars() {
        if !single.ends_with(c) {
            single.push(c);
        }
    }
    let is_vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u');
    let mut chars: Vec<char> = single.chars().collect();
    if chars.len() > 2 {
        let last = chars.len() - 1;
        if chars[last] == 'y' && !is_vowel(chars[last - 1]) {
            chars[last] = 'i';
        } else if chars[last] == 'h' && is_vowel(chars[last - 1]) {
            chars.pop();
        }
    }
    chars.into_iter().collect()
}

fn token_weight(token: &str) -> f64 {
    if token.len() == 1 {
        return INITIAL_WEIGHT;
    }
    COMMON_TOKENS
        .iter()
        .find(|(common, _)| *common == token)
        .map_or(1.0, |(_, weight)| *weight)
}

fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    // M. is how Muhammad is abbreviated, so it agrees fully; it stays an initial, though,
    // because a Maryam or a Mulyadi abbreviates the same way.
    if (a == "m" && b == MUHAMMAD) || (a == MUHAMMAD && b == "m") {
        return 1.0;
    }
    if a.len() == 1 || b.len() == 1 {
        return if a.as_bytes().first() == b.as_bytes().first() {
            INITIAL_AGREEMENT
        } else {
            0.0
        };
    }
    let (short, long) = (a.len().min(b.len()) as f64, a.len().max(b.len()) as f64);
    if short / long < MIN_LENGTH_RATIO {
        return 0.0;
    }
    let similarity = jaro_winkler(a, b);
    if similarity >= TOKEN_FLOOR {
        similarity
    } else if short >= MIN_TYPO_LENGTH && one_edit_apart(a.as_bytes(), b.as_bytes()) {
        // Jaro-Winkler counts a mid-word slip hard ("nening" / "nining" is 0.84); one
        // keystroke is the commonest misspelling, so it keeps the share of letters that agree.
        1.0 - 1.0 / long
    } else {
        0.0
    }
}

/// Whether one substitution, insertion, deletion or swap of neighbours turns one into the
/// other.
fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let differing: Vec<usize> = (0..short.len()).filter(|&i| short[i] != long[i]).collect();
            match differing.as_slice() {
                [_] => true,
                [i, j] => *j == i + 1 && short[*i] == long[*j] && short[*j] == long[*i],
                _ => false,
            }
        }
        1 => {
            let skip = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[skip..] == long[skip + 1..]
        }
        _ => false,
    }
}

/// The weight a pair of aligned tokens carries: an initial takes the weight of the token it
/// stands for.
fn pair_weight(a: &str, b: &str) -> f64 {
    match (a.len() == 1, b.len() == 1) {
        (true, false) => 2.0 * token_weight(b),
        (false, true) => 2.0 * token_weight(a),
        _ => token_weight(a) + token_weight(b),
    }
}

/// Greedy one-to-one alignment of the tokens, best pairs first; the weighted share of
/// agreement, with unpaired tokens counting against it. `joined_a` / `joined_b` is the
/// position of a token made by joining two written ones (see [`adjacent_merges`]).
fn aligned(a: &[String], b: &[String], joined_a: Option<usize>, joined_b: Option<usize>) -> f64 {
    // Names keep at most MAX_TOKENS tokens, so the pairs fit on the stack and the used
    // tokens in a bit set.
    let (a, b) = (&a[..a.len().min(MAX_TOKENS)], &b[..b.len().min(MAX_TOKENS)]);
    let mut pairs = [(0.0f64, 0usize, 0usize); MAX_TOKENS * MAX_TOKENS];
    let mut count = 0;
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            let similarity = if joined_a == Some(i) || joined_b == Some(j) {
                joined_token_similarity(x, y)
            } else {
                token_similarity(x, y)
            };
            if similarity > 0.0 {
                pairs[count] = (similarity, i, j);
                count += 1;
            }
        }
    }
    let pairs = &mut pairs[..count];
    pairs.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)).then(p.2.cmp(&q.2)));
    let (mut a_used, mut b_used) = (0u32, 0u32);
    let (mut agreeing, mut total) = (0.0, 0.0);
    for &(similarity, i, j) in pairs.iter() {
        if a_used & (1 << i) != 0 || b_used & (1 << j) != 0 {
            continue;
        }
        a_used |= 1 << i;
        b_used |= 1 << j;
        let weight = pair_weight(&a[i], &b[j]);
        agreeing += weight * similarity;
        total += weight;
    }
    let unpaired = |tokens: &[String], used: u32| -> f64 {
        tokens
            .iter()
            .enumerate()
            .filter(|(at, _)| used & (1 << at) == 0)
            .map(|(_, token)| token_weight(token))
            .sum()
    };
    let (left_a, left_b) = (unpaired(a, a_used), unpaired(b, b_used));
    total += if left_a > 0.0 && left_b > 0.0 {
        left_a + left_b
    } else {
        ONE_SIDED_PENALTY * (left_a + left_b)
    };
    if total > 0.0 { agreeing / total } else { 0.0 }
}

/// The token lists made by joining one pair of neighbours ("nur haliza" gives
/// "nurhaliza"), each with the position of the joined token. An initial is not half of a
/// word, so it is never joined.
fn adjacent_merges(tokens: &[String]) -> impl Iterator<Item = (Vec<String>, usize)> + '_ {
    (0..tokens.len().saturating_sub(1))
        .filter(move |&at| tokens[at].len() > 1 && tokens[at + 1].len() > 1)
        .map(move |at| {
            let mut merged = Vec::with_capacity(tokens.len() - 1);
            merged.extend_from_slice(&tokens[..at]);
            merged.push(respell(&format!("{}{}", tokens[at], tokens[at + 1])));
            merged.extend_from_slice(&tokens[at + 2..]);
            (merged, at)
        })
}

/// A joined token against a written one: the same letters (Abdul Rahman / Abdurrahman), not
/// merely the same start. Two joined names share their first name's letters, which the
/// Jaro-Winkler prefix bonus would reward ("sitiimas" / "siti vina"), so plain Jaro is used,
/// with a higher floor.
fn joined_token_similarity(joined: &str, written: &str) -> f64 {
    if joined == written {
        return 1.0;
    }
    let (short, long) = (
        joined.len().min(written.len()) as f64,
        joined.len().max(written.len()) as f64,
    );
    if short / long < MIN_LENGTH_RATIO {
        return 0.0;
    }
    let similarity = jaro(joined.as_bytes(), written.as_bytes());
    if similarity >= JOINED_FLOOR { similarity } else { 0.0 }
}
