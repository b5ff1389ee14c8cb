//! HTML whose text is escaped unless it is markup.
//!
//! [`html!`](crate::html!) formats like `format!`, but every argument is escaped unless it
//! is [`Html`]: markup `html!` made, or a literal declared markup with [`Html::trusted`].
//! Its format string cannot capture variables (`{name}` must be an argument), so no value
//! reaches a page without passing through that choice.
//!
//! ```
//! use shared::{html, html::Html};
//! let name = "<Ann & Bob>";
//! let badge = html!(r#"<b class="{class}">{name}</b>"#, class = "who", name = name);
//! let page = html!("<p>{badge}</p>", badge = badge);
//! assert_eq!(page.as_str(), r#"<p><b class="who">&lt;Ann &amp; Bob&gt;</b></p>"#);
//! ```
//!
//! ```compile_fail
//! let name = "<script>";
//! let page = shared::html!("<p>{name}</p>"); // a capture: refused at compile time
//! ```

use std::borrow::Cow;
use std::fmt::Display;

/// Markup: made by [`html!`](crate::html!), from escaped text, or from a trusted literal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Markup written in the code, as it is.
    pub fn trusted(markup: &'static str) -> Html {
        Html(markup.to_string())
    }

    /// `text`, escaped.
    pub fn text(text: &str) -> Html {
        Html(escape(text).into_owned())
    }

    /// Markup put together from escaped parts where `html!` cannot build it (a
    /// translated sentence whose arguments are markup). Everything in it must have
    /// been escaped or be markup already.
    pub fn from_escaped_parts(markup: String) -> Html {
        Html(markup)
    }

    /// What `html!` made: its arguments were escaped or markup already.
    #[doc(hidden)]
    pub fn from_format(formatted: String) -> Html {
        Html(formatted)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, more: &Html) {
        self.0.push_str(&more.0);
    }

    /// The pieces one after another, `separator` (a literal) between them.
    pub fn join(pieces: impl IntoIterator<Item = Html>, separator: &'static str) -> Html {
        let pieces: Vec<String> = pieces.into_iter().map(|piece| piece.0).collect();
        Html(pieces.join(separator))
    }
}

impl FromIterator<Html> for Html {
    fn from_iter<I: IntoIterator<Item = Html>>(pieces: I) -> Html {
        Html::join(pieces, "")
    }
}

/// How [`html!`](crate::html!) writes an argument: markup as it is, anything else escaped.
pub trait Interpolate {
    fn interpolate(&self) -> Cow<'_, str>;
}

impl Interpolate for Html {
    fn interpolate(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

impl Interpolate for &Html {
    fn interpolate(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

impl<T: Display + ?Sized> Interpolate for T {
    fn interpolate(&self) -> Cow<'_, str> {
        Cow::Owned(escape(&self.to_string()).into_owned())
    }
}

/// `text` safe inside HTML text and quoted attributes.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Formats markup: every `name = value` argument is escaped unless it is [`Html`]. The
/// format string may not capture variables. Arguments arrive as text, so format a
/// number before (`{ms:.0}` would cut the text, not round the number).
#[macro_export]
macro_rules! html {
    ($format:literal $(,)?) => {
        $crate::html::Html::from_format(format!(concat!($format)))
    };
    ($format:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::html::Html::from_format(format!(
            concat!($format),
            $($name = $crate::html::Interpolate::interpolate(&$value)),+
        ))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_markup_is_not() {
        let cell = html!("<td>{value}</td>", value = "a < b & \"c\" 'd'");
        assert_eq!(
            cell.as_str(),
            "<td>a &lt; b &amp; &quot;c&quot; &#39;d&#39;</td>"
        );
        let row = html!(
            "<tr>{cell}{more}</tr>",
            cell = cell,
            more = &Html::text("<x>")
        );
        assert_eq!(
            row.as_str(),
            "<tr><td>a &lt; b &amp; &quot;c&quot; &#39;d&#39;</td>&lt;x&gt;</tr>"
        );
        // Arguments arrive as text: format numbers before (a precision would cut text).
        assert_eq!(html!("{n} ms", n = 7).as_str(), "7 ms");
        assert_eq!(html!("{{literal}}").as_str(), "{literal}");
        let list = Html::join([Html::text("a&b"), Html::trusted("<br>")], ", ");
        assert_eq!(list.as_str(), "a&amp;b, <br>");
        let all: Html = [Html::trusted("<i>"), Html::text("<")]
            .into_iter()
            .collect();
        assert_eq!(all.as_str(), "<i>&lt;");
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
    }
}
