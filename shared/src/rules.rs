//! The rule language of endpoint filters and blacklist rules:
//!
//! ```text
//! customer.email_domain == "gmail.com" and customer.email contains "+"
//! ```
//!
//! Paths into a JSON context; literals (string, number, `true`, `false`, `null`, lists
//! `[..]`); `== != < <= > >=`, `contains`, `starts_with`, `ends_with`, `in`, `matches`
//! (regex), `in_cidr` (an IP address in a CIDR range or list of them); `and`, `or`, `not`;
//! parentheses. `not` binds tightest, then `and`, then `or`.
//! A rule is parsed once (errors carry their position) and evaluated many times, without
//! allocating; a path that is missing is `null`, never an error.

use crate::t;
use regex::{Regex, RegexBuilder};
use serde_json::{Number, Value};
use std::{cmp::Ordering, fmt};
use winnow::{
    ModalResult, Parser,
    ascii::{digit1, multispace0},
    combinator::{alt, cut_err, delimited, opt, preceded, repeat, separated, terminated},
    error::{ContextError, ErrMode, StrContext, StrContextValue},
    token::{any, one_of, take_while},
};

/// The longest rule accepted, in bytes.
pub const MAX_RULE_LENGTH: usize = 4096;
/// How deeply parentheses and lists may nest.
pub const MAX_NESTING: usize = 32;

/// A parsed rule, ready to evaluate.
#[derive(Clone, Debug)]
pub struct Rule {
    source: String,
    expr: Expr,
}

/// Why a rule does not parse, and where (1-based character position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (message, position) = (&self.message, self.position);
        f.write_str(&t!("{message} at position {position}", message, position))
    }
}

impl std::error::Error for RuleError {}

#[derive(Clone, Debug)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Op, Operand),
    Truthy(Operand),
}

#[derive(Clone, Debug)]
enum Operand {
    Path(Vec<String>),
    Literal(Value),
    Group(Box<Expr>),
}

#[derive(Clone, Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    StartsWith,
    EndsWith,
    In,
    Matches(Box<Regex>),
    InNetwork(Vec<ipnet::IpNet>),
}

static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);
static NULL: Value = Value::Null;

impl Rule {
    pub fn parse(source: &str) -> Result<Rule, RuleError> {
        if source.len() > MAX_RULE_LENGTH {
            return Err(RuleError {
                position: MAX_RULE_LENGTH + 1,
                message: t!(
                    "rule is too long (maximum is {max} characters)",
                    max = MAX_RULE_LENGTH
                ),
            });
        }
        check_nesting(source)?;
        let expr = delimited(
            multispace0,
            expression.context(expected("an expression")),
            multispace0,
        )
        .parse(source)
        .map_err(|e| RuleError {
            position: source[..e.offset()].chars().count() + 1,
            message: describe(e.inner(), &source[e.offset()..]),
        })?;
        Ok(Rule {
            source: source.to_string(),
            expr,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the rule holds for `context`.
    pub fn evaluate(&self, context: &Value) -> bool {
        self.expr.holds(context)
    }
}

fn describe(error: &ContextError, rest: &str) -> String {
    // Contexts run from the innermost parser outwards; the innermost says most.
    let expected = error.context().find_map(|c| match c {
        StrContext::Expected(StrContextValue::Description(d)) => Some(expectation(d)),
        StrContext::Expected(StrContextValue::StringLiteral(s)) => Some(format!("\"{s}\"")),
        StrContext::Expected(StrContextValue::CharLiteral(c)) => Some(format!("'{c}'")),
        _ => None,
    });
    if let Some(cause) = error.cause() {
        let cause = cause.to_string();
        let last = cause.lines().last().unwrap_or_default();
        let cause = last.trim().trim_start_matches("error: ");
        return t!("invalid regular expression ({cause})", cause);
    }
    let found = match rest.chars().next() {
        None => t!("the end of the rule"),
        Some(_) => format!("\"{}\"", rest.chars().take(12).collect::<String>()),
    };
    match expected {
        Some(expected) => t!("expected {expected}, found {found}", expected, found),
        None => t!("unexpected {found}", found),
    }
}

/// What the parser expected (the descriptions given to [`expected`]), for people.
fn expectation(description: &str) -> String {
    match description {
        "an expression" => t!("an expression"),
        "a value to compare with" => t!("a value to compare with"),
        "a closing quote" => t!("a closing quote"),
        "a regular expression in quotes" => t!("a regular expression in quotes"),
        "a CIDR range in quotes, or a list of them" => {
            t!("a CIDR range in quotes, or a list of them")
        }
        "an expression after \"or\"" => t!("an expression after \"or\""),
        "an expression after \"and\"" => t!("an expression after \"and\""),
        "an expression after \"not\"" => t!("an expression after \"not\""),
        "digits after \".\"" => t!("digits after \".\""),
        "an escape: \\\\ \\\" \\' \\n \\t \\r" => t!("an escape: \\\\ \\\" \\' \\n \\t \\r"),
        // Quoted symbols ("\")\"") read the same in every language.
        other => other.to_string(),
    }
}

/// Refuses nesting deeper than [`MAX_NESTING`] before the recursive parser sees it.
fn check_nesting(source: &str) -> Result<(), RuleError> {
    let (mut depth, mut quote) = (0usize, None::<char>);
    let mut escaped = false;
    for (index, c) in source.chars().enumerate() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(RuleError {
                            position: index + 1,
                            message: t!(
                                "nesting is too deep (maximum is {max})",
                                max = MAX_NESTING
                            ),
                        });
                    }
                }
                ')' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    Ok(())
}

/// Parsed rules by their text, so a warm function parses each filter once, not once
/// per event. Bounded: emptied when full, as filters change rarely.
#[derive(Debug, Default)]
pub struct RuleCache {
    rules: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Rule>>>,
}

const RULE_CACHE_CAPACITY: usize = 1024;

impl RuleCache {
    /// The parsed rule of `source`; `None` if it does not parse.
    pub fn get(&self, source: &str) -> Option<std::sync::Arc<Rule>> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rule) = rules.get(source) {
            return Some(rule.clone());
        }
        let rule = std::sync::Arc::new(Rule::parse(source).ok()?);
        if rules.len() >= RULE_CACHE_CAPACITY {
            rules.clear();
        }
        rules.insert(source.to_string(), rule.clone());
        Some(rule)
    }
}

// ---- parser ----

type In<'a> = &'a str;

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A word (keyword or operator) not followed by more identifier characters.
fn keyword<'a>(word: &'static str) -> impl Parser<In<'a>, &'a str, ErrMode<ContextError>> {
    terminated(word, winnow::combinator::not(one_of(is_ident_char)))
}

const RESERVED: [&str; 12] = [
    "and",
    "or",
    "not",
    "contains",
    "starts_with",
    "ends_with",
    "in",
    "matches",
    "in_cidr",
    "true",
    "false",
    "null",
];

fn expression(input: &mut In<'_>) -> ModalResult<Expr> {
    chain(
        input,
        "or",
        "an expression after \"or\"",
        conjunction,
        Expr::Or,
    )
}

fn conjunction(input: &mut In<'_>) -> ModalResult<Expr> {
    chain(
        input,
        "and",
        "an expression after \"and\"",
        negation,
        Expr::And,
    )
}

/// `operand (word operand)*`, joined when there is more than one.
fn chain(
    input: &mut In<'_>,
    word: &'static str,
    after: &'static str,
    operand: fn(&mut In<'_>) -> ModalResult<Expr>,
    join: fn(Vec<Expr>) -> Expr,
) -> ModalResult<Expr> {
    let first = operand(input)?;
    let rest: Vec<Expr> = repeat(
        0..,
        preceded(
            (multispace0, keyword(word), multispace0),
            cut_err(operand.context(expected(after))),
        ),
    )
    .parse_next(input)?;
    Ok(if rest.is_empty() {
        first
    } else {
        join(std::iter::once(first).chain(rest).collect())
    })
}

/// `not` is read iteratively, so `not not not ...` cannot exhaust the stack.
fn negation(input: &mut In<'_>) -> ModalResult<Expr> {
    let nots: usize = repeat(0.., (keyword("not"), multispace0)).parse_next(input)?;
    let inner = if nots > 0 {
        cut_err(comparison.context(expected("an expression after \"not\""))).parse_next(input)?
    } else {
        comparison(input)?
    };
    Ok(if nots % 2 == 1 {
        Expr::Not(Box::new(inner))
    } else {
        inner
    })
}

fn comparison(input: &mut In<'_>) -> ModalResult<Expr> {
    let left = operand(input)?;
    let checkpoint = *input;
    let _ = multispace0.parse_next(input)?;
    let Some(op) = opt(operator).parse_next(input)? else {
        *input = checkpoint;
        return Ok(Expr::Truthy(left));
    };
    let _ = multispace0.parse_next(input)?;
    let op = match op {
        OpToken::Matches => {
            let regex = cut_err(pattern).parse_next(input)?;
            return Ok(Expr::Compare(
                left,
                Op::Matches(Box::new(regex)),
                Operand::Literal(Value::Null),
            ));
        }
        OpToken::InCidr => {
            let networks = cut_err(networks).parse_next(input)?;
            return Ok(Expr::Compare(
                left,
                Op::InNetwork(networks),
                Operand::Literal(Value::Null),
            ));
        }
        OpToken::Eq => Op::Eq,
        OpToken::Ne => Op::Ne,
        OpToken::Lt => Op::Lt,
        OpToken::Le => Op::Le,
        OpToken::Gt => Op::Gt,
        OpToken::Ge => Op::Ge,
        OpToken::Contains => Op::Contains,
        OpToken::StartsWith => Op::StartsWith,
        OpToken::EndsWith => Op::EndsWith,
        OpToken::In => Op::In,
    };
    let right = cut_err(operand.context(expected("a value to compare with"))).parse_next(input)?;
    Ok(Expr::Compare(left, op, right))
}

/// An operator as written; `matches` gets its compiled pattern afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpToken {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    StartsWith,
    EndsWith,
    In,
    Matches,
    InCidr,
}

fn operator(input: &mut In<'_>) -> ModalResult<OpToken> {
    let symbol = alt((
        "==".value(OpToken::Eq),
        "!=".value(OpToken::Ne),
        "<=".value(OpToken::Le),
        ">=".value(OpToken::Ge),
        "<".value(OpToken::Lt),
        ">".value(OpToken::Gt),
    ));
    let word = alt((
        keyword("contains").value(OpToken::Contains),
        keyword("starts_with").value(OpToken::StartsWith),
        keyword("ends_with").value(OpToken::EndsWith),
        keyword("in_cidr").value(OpToken::InCidr),
        keyword("in").value(OpToken::In),
        keyword("matches").value(OpToken::Matches),
    ));
    alt((symbol, word)).parse_next(input)
}

/// The string literal after `matches`, compiled once.
fn pattern(input: &mut In<'_>) -> ModalResult<Regex> {
    string
        .context(expected("a regular expression in quotes"))
        .try_map(|text: String| RegexBuilder::new(&text).size_limit(1 << 20).build())
        .parse_next(input)
}

/// The range or list of ranges after `in_cidr`, parsed once. A bare address is a
/// one-address range.
fn networks(input: &mut In<'_>) -> ModalResult<Vec<ipnet::IpNet>> {
    alt((
        string.map(|s| vec![s]),
        delimited(
            ("[", multispace0),
            separated(1.., delimited(multispace0, string, multispace0), ","),
            (multispace0, "]"),
        ),
    ))
    .verify_map(|texts: Vec<String>| {
        texts
            .iter()
            .map(|t| crate::validate::parse_network(t.trim()))
            .collect::<Option<Vec<_>>>()
    })
    .context(expected("a CIDR range in quotes, or a list of them"))
    .parse_next(input)
}

fn operand(input: &mut In<'_>) -> ModalResult<Operand> {
    alt((
        delimited(
            ("(", multispace0),
            cut_err(expression),
            cut_err((multispace0, ")").context(expected("\")\""))),
        )
        .map(|e| Operand::Group(Box::new(e))),
        literal.map(Operand::Literal),
        path.map(Operand::Path),
    ))
    .parse_next(input)
}

fn literal(input: &mut In<'_>) -> ModalResult<Value> {
    alt((
        string.map(Value::String),
        number,
        keyword("true").value(Value::Bool(true)),
        keyword("false").value(Value::Bool(false)),
        keyword("null").value(Value::Null),
        list,
    ))
    .parse_next(input)
}

fn list(input: &mut In<'_>) -> ModalResult<Value> {
    delimited(
        ("[", multispace0),
        cut_err(separated(
            0..,
            delimited(multispace0, literal, multispace0),
            ",",
        )),
        cut_err((multispace0, "]").context(expected("\"]\" or \",\""))),
    )
    .map(Value::Array)
    .parse_next(input)
}

fn number(input: &mut In<'_>) -> ModalResult<Value> {
    (
        opt("-"),
        digit1,
        opt(preceded(
            ".",
            cut_err(digit1.context(expected("digits after \".\""))),
        )),
    )
        .take()
        .verify_map(|text: &str| match text.parse::<i64>() {
            Ok(n) => Some(Value::Number(n.into())),
            Err(_) => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number),
        })
        .parse_next(input)
}

fn string(input: &mut In<'_>) -> ModalResult<String> {
    let quote = one_of(['"', '\'']).parse_next(input)?;
    let mut text = String::new();
    loop {
        let c = cut_err(any.context(expected("a closing quote"))).parse_next(input)?;
        match c {
            c if c == quote => return Ok(text),
            '\\' => {
                let escaped = cut_err(
                    one_of(['\\', '"', '\'', 'n', 't', 'r'])
                        .context(expected("an escape: \\\\ \\\" \\' \\n \\t \\r")),
                )
                .parse_next(input)?;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
            }
            other => text.push(other),
        }
    }
}

fn path(input: &mut In<'_>) -> ModalResult<Vec<String>> {
    let start = *input;
    let segments: Vec<&str> =
        separated(1.., take_while(1.., is_ident_char), ".").parse_next(input)?;
    if segments.len() == 1 && RESERVED.contains(&segments[0]) {
        *input = start;
        return Err(ErrMode::Backtrack(ContextError::new()));
    }
    if segments[0].starts_with(|c: char| c.is_ascii_digit()) {
        *input = start;
        return Err(ErrMode::Backtrack(ContextError::new()));
    }
    Ok(segments.into_iter().map(str::to_string).collect())
}

// ---- evaluation ----

impl Expr {
    fn holds(&self, context: &Value) -> bool {
        match self {
            Expr::Or(parts) => parts.iter().any(|p| p.holds(context)),
            Expr::And(parts) => parts.iter().all(|p| p.holds(context)),
            Expr::Not(inner) => !inner.holds(context),
            Expr::Truthy(operand) => truthy(operand.resolve(context)),
            Expr::Compare(left, op, right) => {
                op.apply(left.resolve(context), right.resolve(context))
            }
        }
    }
}

impl Operand {
    fn resolve<'a>(&'a self, context: &'a Value) -> &'a Value {
        match self {
            Operand::Literal(value) => value,
            Operand::Group(expr) => {
                if expr.holds(context) {
                    &TRUE
                } else {
                    &FALSE
                }
            }
            Operand::Path(segments) => segments
                .iter()
                .try_fold(context, |value, segment| match value {
                    Value::Object(map) => map.get(segment),
                    Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                    _ => None,
                })
                .unwrap_or(&NULL),
        }
    }
}

impl Op {
    fn apply(&self, left: &Value, right: &Value) -> bool {
        match self {
            Op::Eq => equal(left, right),
            Op::Ne => !equal(left, right),
            Op::Lt => order(left, right) == Some(Ordering::Less),
            Op::Le => matches!(order(left, right), Some(Ordering::Less | Ordering::Equal)),
            Op::Gt => order(left, right) == Some(Ordering::Greater),
            Op::Ge => matches!(
                order(left, right),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            Op::Contains => match (left, right) {
                (Value::String(haystack), Value::String(needle)) => {
                    haystack.contains(needle.as_str())
                }
                (Value::Array(items), needle) => items.iter().any(|item| equal(item, needle)),
                _ => false,
            },
            Op::StartsWith => {
                matches!((left, right), (Value::String(s), Value::String(p)) if s.starts_with(p.as_str()))
            }
            Op::EndsWith => {
                matches!((left, right), (Value::String(s), Value::String(p)) if s.ends_with(p.as_str()))
            }
            Op::In => match (left, right) {
                (needle, Value::Array(items)) => items.iter().any(|item| equal(item, needle)),
                (Value::String(needle), Value::String(haystack)) => {
                    haystack.contains(needle.as_str())
                }
                _ => false,
            },
            Op::Matches(regex) => matches!(left, Value::String(s) if regex.is_match(s)),
            Op::InNetwork(networks) => match left {
                Value::String(text) => text
                    .parse::<std::net::IpAddr>()
                    .map(crate::validate::canonical_ip)
                    .is_ok_and(|ip| networks.iter().any(|net| net.contains(&ip))),
                _ => false,
            },
        }
    }
}

/// JSON equality where `1` equals `1.0`.
fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => left == right,
    }
}

/// Numbers with numbers, strings with strings; anything else is unordered.
fn order(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(rule: &str, context: &Value) -> bool {
        Rule::parse(rule)
            .unwrap_or_else(|e| panic!("{rule:?}: {e}"))
            .evaluate(context)
    }

    fn context() -> Value {
        json!({
            "customer": { "email": "ann+shop@gmail.com", "email_domain": "gmail.com", "country": "US", "vip": true, "tags": ["new", "eu"] },
            "order": { "value": 120.5, "quantity": 3, "status": 0, "items": [{ "sku": "A-1" }, { "sku": "B-2" }], "note": "" },
        })
    }

    #[test]
    fn the_cache_parses_each_rule_once_and_refuses_broken_ones() {
        let cache = RuleCache::default();
        let first = cache.get("a == 1").unwrap();
        let again = cache.get("a == 1").unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        assert!(cache.get("a == ").is_none());
    }

    #[test]
    fn the_example_from_the_contract() {
        assert!(holds(
            r#"customer.email_domain == "gmail.com" and customer.email contains "+""#,
            &context()
        ));
    }

    #[test]
    fn every_comparison_operator() {
        let c = context();
        for (rule, expected) in [
            ("order.quantity == 3", true),
            ("order.quantity == 3.0", true),
            ("order.quantity != 3", false),
            ("order.value < 200", true),
            ("order.value <= 120.5", true),
            ("order.value > 120.5", false),
            ("order.value >= 120.5", true),
            ("customer.country < 'VA'", true),
            ("customer.email starts_with 'ann'", true),
            ("customer.email ends_with '.com'", true),
            ("customer.tags contains 'eu'", true),
            ("customer.tags contains 'us'", false),
            ("customer.country in ['US', 'CA']", true),
            ("customer.country in ['DE']", false),
            ("'gmail' in customer.email_domain", true),
            (r#"customer.email matches "^[a-z]+\\+""#, true),
            ("customer.email matches 'x$'", false),
            ("order.items.1.sku == 'B-2'", true),
            ("customer.vip == true", true),
            ("order.coupon == null", true),
        ] {
            assert_eq!(holds(rule, &c), expected, "{rule}");
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let c = context();
        // and binds tighter than or: false and false or true = true
        assert!(holds(
            "order.status == 1 and order.status == 2 or customer.vip",
            &c
        ));
        assert!(!holds(
            "order.status == 1 and (order.status == 2 or customer.vip)",
            &c
        ));
        assert!(!holds("not customer.vip and customer.vip", &c));
        assert!(holds("not (customer.vip and order.status == 9)", &c));
        assert!(holds("not not customer.vip", &c));
        assert!(holds("(customer.vip) == true", &c));
    }

    #[test]
    fn missing_paths_are_null_and_mismatched_types_are_false() {
        let c = context();
        assert!(holds("nothing.here == null", &c));
        assert!(!holds("nothing.here", &c));
        assert!(!holds("nothing.here > 1", &c));
        assert!(!holds("customer.email > 1", &c));
        assert!(!holds("order.quantity contains 'x'", &c));
        assert!(!holds("order.quantity matches 'x'", &c));
        assert!(!holds("order.note", &c));
        assert!(holds("customer.tags", &c));
        assert!(!holds("anything", &Value::Null));
    }

    #[test]
    fn string_escapes_and_both_quotes() {
        let c = json!({ "a": "say \"hi\"\n", "b": "it's" });
        assert!(holds(r#"a == "say \"hi\"\n""#, &c));
        assert!(holds(r#"b == 'it\'s'"#, &c));
        assert!(holds(r#"b == "it's""#, &c));
    }

    #[test]
    fn keywords_need_word_boundaries() {
        let c = json!({ "android": 1, "order": { "in": 2 }, "notes": "x" });
        assert!(
            holds("android == 1", &c),
            "`and` inside a name is not the operator"
        );
        assert!(holds("notes == 'x'", &c));
        assert!(holds("order.in == 2", &c), "keywords are fine after a dot");
    }

    fn error(rule: &str) -> RuleError {
        Rule::parse(rule).expect_err(rule)
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(error("a == ").position, 6);
        assert_eq!(error("a == 1 and").position, 11);
        assert_eq!(error("(a == 1").position, 8);
        assert_eq!(error("a == 'open").position, 11);
        assert_eq!(error("a ==== 1").position, 5);
        assert_eq!(error("a matches '('").position, 11);
        assert_eq!(
            error("a matches '('").message,
            "invalid regular expression (unclosed group)"
        );
        assert_eq!(
            error("a == 1 and").message,
            "expected an expression after \"and\", found the end of the rule"
        );
        assert_eq!(
            error("a == ").message,
            "expected a value to compare with, found the end of the rule"
        );
        assert_eq!(error("").position, 1);
        assert_eq!(error("a == [1, 2").position, 11);
        assert_eq!(error("é == é").position, 1, "positions count characters");
        let err = error("customer.email == ");
        assert!(err.to_string().ends_with("at position 19"), "{err}");
    }

    #[test]
    fn depth_and_length_are_bounded() {
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert!(error(&deep).message.contains("nesting"));
        let fine = format!("{}a{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(Rule::parse(&fine).is_ok());
        assert!(Rule::parse(&"a == 1 and ".repeat(500)).is_err());
        // A thousand `not`s in a row are read without recursion (no stack overflow).
        let nots = format!("{}a", "not ".repeat((MAX_RULE_LENGTH - 1) / 4));
        let rule = Rule::parse(&nots).expect("a long chain of not parses");
        assert!(!rule.evaluate(&json!({ "a": true })), "1023 nots negate");
    }

    #[test]
    fn in_cidr_matches_addresses_in_ranges() {
        let ctx = json!({ "customer": { "ip": "10.20.30.40" }, "v6": "2001:db8::5", "bad": "x", "mapped": "::ffff:10.1.2.3" });
        assert!(holds(r#"customer.ip in_cidr "10.0.0.0/8""#, &ctx));
        assert!(holds(
            r#"customer.ip in_cidr ["192.168.0.0/16", "10.20.30.40"]"#,
            &ctx
        ));
        assert!(!holds(r#"customer.ip in_cidr "10.20.31.0/24""#, &ctx));
        assert!(holds(r#"v6 in_cidr "2001:db8::/32""#, &ctx));
        assert!(
            holds(r#"mapped in_cidr "10.0.0.0/8""#, &ctx),
            "::ffff:10.1.2.3 is 10.1.2.3"
        );
        assert!(holds(r#"customer.ip in_cidr "::ffff:10.0.0.0/104""#, &ctx));
        assert!(!holds(r#"bad in_cidr "0.0.0.0/0""#, &ctx), "not an address");
        assert!(
            !holds(r#"missing in_cidr "0.0.0.0/0""#, &ctx),
            "unknown paths are null"
        );
        assert!(holds(r#"not customer.ip in_cidr "172.16.0.0/12""#, &ctx));
        let err = error(r#"customer.ip in_cidr "10.0.0.0/33""#);
        assert_eq!(err.position, 21, "{err}");
        assert!(err.message.contains("CIDR"), "{err}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn token() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("and".to_string()),
                Just("or".to_string()),
                Just("not".to_string()),
                Just("(".to_string()),
                Just(")".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just(",".to_string()),
                Just("==".to_string()),
                Just("<=".to_string()),
                Just("contains".to_string()),
                Just("in".to_string()),
                Just("matches".to_string()),
                Just("'".to_string()),
                Just("\"".to_string()),
                Just("\\".to_string()),
                Just(".".to_string()),
                Just("-".to_string()),
                "[a-z_]{1,6}",
                "[0-9]{1,4}",
                " {0,2}",
                "'[^']{0,4}'",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn parsing_arbitrary_text_never_panics(text in "\\PC{0,80}") {
                let _ = Rule::parse(&text);
            }

            #[test]
            fn parsing_token_soup_never_panics_and_errors_point_inside(tokens in prop::collection::vec(token(), 0..40)) {
                let text = tokens.join(" ");
                match Rule::parse(&text) {
                    Ok(rule) => { let _ = rule.evaluate(&json!({ "a": [1, "x"], "b": { "c": null } })); }
                    Err(e) => prop_assert!(e.position >= 1 && e.position <= text.chars().count() + 1, "{e} in {text:?}"),
                }
            }
        }
    }
}
