//! A strategy's colour and marker shape as a small inline SVG, for pages that name strategies
//! beside the figures: the same look as in every figure.

use super::draw::style;

/// "rgb(0,114,178)": strategy `i`'s colour for CSS.
pub fn css_colour(i: usize) -> String {
    let (c, _) = style(i);
    format!("rgb({},{},{})", c.0, c.1, c.2)
}

/// A line through strategy `i`'s marker, 28×14 px, dashed as its worker's (dash, gap; px): as in
/// the figures' legends.
pub fn swatch(i: usize, dash: Option<(u32, u32)>) -> String {
    let (_, shape) = style(i);
    let dashed = dash.map_or(String::new(), |(on, off)| format!(" stroke-dasharray=\"{on} {off}\""));
    let colour = css_colour(i);
    let points: Vec<String> = shape
        .outline()
        .iter()
        .map(|(x, y)| format!("{},{}", 14 + x, 7 + y))
        .collect();
    format!(
        "<svg class=\"swatch\" width=\"28\" height=\"14\" viewBox=\"0 0 28 14\" aria-hidden=\"true\">\
         <line x1=\"0\" y1=\"7\" x2=\"28\" y2=\"7\" stroke=\"{colour}\" stroke-width=\"2\"{dashed}/>\
         <polygon points=\"{}\" fill=\"{colour}\"/></svg>",
        points.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swatch_has_the_strategys_colour_and_shape() {
        assert_eq!(css_colour(0), "rgb(0,114,178)");
        let square = swatch(1, None);
        let corners = square.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(square.contains("rgb(230,159,0)"), "{square}");
        assert_eq!(corners.split(' ').count(), 4, "{square}");
        assert_ne!(swatch(0, None), swatch(7, None), "same colour, another shape");
        assert!(!square.contains("dasharray"), "{square}");
        assert!(
            swatch(1, Some((9, 5))).contains("stroke-dasharray=\"9 5\""),
            "a worker's dash"
        );
    }
}
