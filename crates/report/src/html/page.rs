//! The page's parts every section uses: what it reads (computed once), a section, the document
//! around them, and how text, tables and lists are written in HTML.

use crate::format::Exporter;
use crate::points::Point;
use crate::svg::{self, swatch};
use anyhow::Result;
use model::results::Results;
use std::fmt::Write;

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// What every section reads, computed once.
pub struct Page<'a> {
    pub results: &'a Results,
    pub points: Vec<Point>,
    /// (file name, SVG text) of every figure the SVG exporter writes, in its order.
    pub figures: Vec<(String, String)>,
    strategies: Vec<String>,
    /// Each strategy's dash, by its worker (as in the figures).
    dashes: Vec<Option<(u32, u32)>>,
}

impl<'a> Page<'a> {
    pub fn new(results: &'a Results) -> Result<Page<'a>> {
        let figures = svg::Svg
            .render(results)?
            .into_iter()
            .map(|(name, bytes)| (name, String::from_utf8_lossy(&bytes).into_owned()))
            .collect();
        Ok(Page {
            results,
            points: crate::points::points(results),
            figures,
            strategies: results.strategies(),
            dashes: crate::svg::draw::dashes(results),
        })
    }

    /// The strategy's name with its colour and marker, as in the figures.
    pub fn strategy(&self, name: &str) -> String {
        match self.strategies.iter().position(|s| s == name) {
            Some(i) => format!(
                "<span class=\"strategy\">{}{}</span>",
                swatch(i, self.dashes[i]),
                esc(name)
            ),
            None => esc(name),
        }
    }

    /// Every strategy's colour, marker and name: the figures' legend.
    pub fn legend(&self) -> String {
        let names: Vec<String> = self.strategies.iter().map(|s| self.strategy(s)).collect();
        format!("<p class=\"legend\">{}</p>", names.join(" "))
    }
}

/// One part of the page; `body` is HTML.
pub struct Section {
    pub id: String,
    pub title: String,
    pub body: String,
}

impl Section {
    pub fn new(id: impl Into<String>, title: impl Into<String>, body: String) -> Section {
        Section {
            id: id.into(),
            title: title.into(),
            body,
        }
    }
}

/// A complete HTML document: the header, a table of contents, then the sections.
pub fn document(title: &str, header: &str, sections: &[Section]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<header>\n{header}\n</header>\n<nav><ul>\n",
        esc(title)
    );
    for s in sections {
        let _ = writeln!(out, "<li><a href=\"#{}\">{}</a></li>", s.id, esc(&s.title));
    }
    out += "</ul></nav>\n<main>\n";
    for s in sections {
        let _ = write!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>\n{}\n</section>\n",
            s.id,
            esc(&s.title),
            s.body
        );
    }
    out + "</main>\n<script>\n" + JS + "</script>\n</body>\n</html>\n"
}

/// Text made safe for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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
    out
}

/// An HTML table; `rows` are HTML already (escape text with [`esc`]). Sortable by clicking a
/// column's header when `sortable`.
pub fn table(header: &[&str], rows: &[Vec<String>], sortable: bool) -> String {
    let class = if sortable { " class=\"sortable\"" } else { "" };
    let mut out = format!("<div class=\"scroll\"><table{class}>\n<thead><tr>");
    for h in header {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out += "</tr></thead>\n<tbody>\n";
    for row in rows {
        out += "<tr>";
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out += "</tr>\n";
    }
    out + "</tbody></table></div>"
}

/// A bulleted list of HTML items.
pub fn list(items: impl IntoIterator<Item = String>) -> String {
    let items: String = items.into_iter().map(|i| format!("<li>{i}</li>")).collect();
    format!("<ul>{items}</ul>")
}
