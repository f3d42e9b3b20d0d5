//! PII redaction applied to log messages and field values before they are stored.
//!
//! What is matched, exactly:
//!
//! - **E-mail address** → `[email]`: a local part of one or more of
//!   `A-Z a-z 0-9 . _ % + -`, then `@`, then a domain of two or more labels separated by
//!   `.`, each label 1..=63 of `A-Z a-z 0-9 -` not starting or ending with `-`, the last
//!   label (the TLD) two or more letters. The match is the longest such run; the
//!   characters around it are kept. `user@localhost` (no dot) is not matched.
//! - **Phone number** → `[phone]`: a run of digits and the separators space, `-`, `.`,
//!   `(` and `)`, holding 9..=15 digits in all, that either starts with `+` or contains at
//!   least one separator between digits (so `+44 20 7946 0958`, `(555) 123-4567` and
//!   `555.123.4567` match). A bare run of digits without `+` (`order 123456789`, a
//!   timestamp, an id) is *not* matched, nor is a run touching a letter or digit on
//!   either side (`v1.2.3.4-567`, `abc555-123-4567`), nor one with fewer than 9 digits
//!   (`12-34-56`, a date `2026-11-22` has 8 digits), nor an IPv4 address (four groups of
//!   at most three digits separated by dots only), nor a run that starts with an ISO
//!   date (`2026-11-22 10:00` is a timestamp).
//!
//! Anything else is left as it is: redaction is a safety net, not a guarantee that no
//! personal data reaches the ring.

/// The marker that replaces an e-mail address.
pub const EMAIL_MARKER: &str = "[email]";
/// The marker that replaces a phone number.
pub const PHONE_MARKER: &str = "[phone]";

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_label(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// If an e-mail address has its `@` at `at`, returns its byte range.
fn email_at(s: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > 0 && is_local(s[start - 1]) {
        start -= 1;
    }
    if start == at {
        return None;
    }
    // Domain: labels separated by dots; remember where the last valid label ended.
    let mut i = at + 1;
    let mut labels = 0;
    let mut end = None;
    loop {
        let label_start = i;
        while i < s.len() && is_label(s[i]) && i - label_start < 63 {
            i += 1;
        }
        let label = &s[label_start..i];
        if label.is_empty() || label[0] == b'-' || label[label.len() - 1] == b'-' {
            break;
        }
        labels += 1;
        if labels >= 2 && label.len() >= 2 && label.iter().all(|c| c.is_ascii_alphabetic()) {
            end = Some(i);
        }
        if i < s.len() && s[i] == b'.' && i + 1 < s.len() && is_label(s[i + 1]) {
            i += 1;
        } else {
            break;
        }
    }
    end.map(|e| (start, e))
}

fn is_sep(c: u8) -> bool {
    matches!(c, b' ' | b'-' | b'.' | b'(' | b')')
}

/// Whether an ISO date (`YYYY-M-D`, one or two digits for month and day) starts at `i`.
fn iso_date_at(s: &[u8], i: usize) -> bool {
    let digits = |from: usize, min: usize, max: usize| -> Option<usize> {
        let n = s[from.min(s.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (min..=max).contains(&n).then_some(from + n)
    };
    let sep = |at: usize| s.get(at) == Some(&b'-');
    (|| {
        let a = digits(i, 4, 4)?;
        sep(a).then_some(())?;
        let b = digits(a + 1, 1, 2)?;
        sep(b).then_some(())?;
        digits(b + 1, 1, 2)
    })()
    .is_some()
}

/// If a phone number starts at `i` (a `+`, a digit or `(`), returns its end.
fn phone_at(s: &[u8], i: usize) -> Option<usize> {
    if i > 0 && (s[i - 1].is_ascii_alphanumeric() || s[i - 1] == b'+') {
        return None;
    }
    if iso_date_at(s, i) {
        return None;
    }
    let plus = s[i] == b'+';
    let mut j = i + usize::from(plus);
    let (mut digits, mut separated, mut last_digit_end) = (0, false, None);
    let mut prev_digit = false;
    // For the IPv4 exclusion: digit groups, the longest, and whether only dots separate.
    let (mut groups, mut group_len, mut longest, mut only_dots) = (0, 0, 0, true);
    while j < s.len() {
        let c = s[j];
        if c.is_ascii_digit() {
            digits += 1;
            if !prev_digit {
                groups += 1;
                group_len = 0;
            }
            group_len += 1;
            longest = longest.max(group_len);
            prev_digit = true;
            last_digit_end = Some(j + 1);
        } else if is_sep(c) {
            only_dots &= c == b'.';
            if prev_digit && j + 1 < s.len() && (s[j + 1].is_ascii_digit() || is_sep(s[j + 1])) {
                separated = true;
            }
            prev_digit = false;
        } else {
            break;
        }
        if digits > 15 {
            return None;
        }
        j += 1;
    }
    let end = last_digit_end?;
    // The run must not continue into a letter or digit glued to its end.
    if end < s.len() && s[end].is_ascii_alphanumeric() {
        return None;
    }
    if !plus && only_dots && groups == 4 && longest <= 3 {
        return None; // an IPv4 address
    }
    if (9..=15).contains(&digits) && (plus || separated) {
        Some(end)
    } else {
        None
    }
}

/// The end of the run of `+`, digits and separators starting at `i`.
fn run_end(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() && (s[j] == b'+' || s[j].is_ascii_digit() || is_sep(s[j])) {
        j += 1;
    }
    j
}

/// Returns `text` with e-mail addresses and phone numbers replaced by markers, or
/// `None` when nothing matched (the common case, which then costs no allocation).
pub fn redact(text: &str) -> Option<String> {
    let s = text.as_bytes();
    if !s.iter().any(|&c| c == b'@' || c.is_ascii_digit()) {
        return None;
    }
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already moved to `out`
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let hit = if c == b'@' {
            email_at(s, i).map(|(a, b)| (a, b, EMAIL_MARKER))
        } else if c == b'+' || c == b'(' || c.is_ascii_digit() {
            match phone_at(s, i) {
                Some(e) => Some((i, e, PHONE_MARKER)),
                None => {
                    // A phone number is a whole run, never a piece of a longer one.
                    i = run_end(s, i).max(i + 1);
                    continue;
                }
            }
        } else {
            None
        };
        match hit {
            Some((a, b, marker)) if a >= copied => {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(&text[copied..a]);
                o.push_str(marker);
                copied = b;
                i = b;
            }
            _ => i += 1,
        }
    }
    out.map(|mut o| {
        o.push_str(&text[copied..]);
        o
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    fn r(s: &str) -> String {
        redact(s).unwrap_or_else(|| s.to_owned())
    }

    #[test]
    fn emails_are_replaced() {
        assert_eq!(r("mail alice@example.com now"), "mail [email] now");
        assert_eq!(r("<bob.smith+tag@mail.example.co.uk>"), "<[email]>");
        assert_eq!(r("a@b.io,c_d@e-f.org"), "[email],[email]");
        assert_eq!(r("x.y%z@sub.domain.travel."), "[email].");
    }

    #[test]
    fn non_emails_are_kept() {
        for s in [
            "user@localhost",
            "@handle",
            "foo@",
            "a@b.c",
            "a@-bad.com",
            "price 3 @ 4.50",
            "a@b.123",
        ] {
            assert_eq!(redact(s), None, "{s}");
        }
    }

    #[test]
    fn phones_are_replaced() {
        assert_eq!(r("call +44 20 7946 0958 today"), "call [phone] today");
        assert_eq!(r("(555) 123-4567"), "[phone]");
        assert_eq!(r("555.123.4567,"), "[phone],");
        assert_eq!(r("tel:+14155552671"), "tel:[phone]");
        assert_eq!(r("555-123-4567 and 555 987 6543"), "[phone] and [phone]");
    }

    #[test]
    fn non_phones_are_kept() {
        for s in [
            "order 123456789",
            "at 2026-11-22 10:00",
            "12-34-56",
            "v1.2.3.4-567",
            "abc555-123-4567",
            "555-123-4567x",
            "took 1234567 us",
            "ip 192.168.10.200",
            "+1234",
            "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7",
        ] {
            assert_eq!(redact(s), None, "{s}");
        }
    }

    #[test]
    fn unicode_around_matches_is_kept() {
        assert_eq!(r("é alice@example.com ü"), "é [email] ü");
    }
}
