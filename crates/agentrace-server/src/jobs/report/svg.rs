//! The report's charts, drawn into the file as SVG so that it opens without a network: daily
//! bars and a sparkline. Labels go through [`text::html`].

use std::fmt::Write as _;

use super::text;

/// Bars of `values` (`None`: no bar), labelled below with `labels` (every few when many), each
/// value's text (`texts`) in its tooltip and the top one's on the left. `label` names the chart
/// for screen readers.
pub(super) fn bars(
    label: &str,
    labels: &[String],
    values: &[Option<f64>],
    texts: &[String],
) -> String {
    const W: f64 = 720.0;
    const H: f64 = 170.0;
    const LEFT: f64 = 64.0;
    const BOTTOM: f64 = 22.0;
    let top = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    let top_text = values
        .iter()
        .zip(texts)
        .find(|(v, _)| **v == Some(top))
        .map_or("", |(_, t)| t.as_str());
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        text::html(label)
    );
    let plot_h = H - BOTTOM - 8.0;
    let _ = write!(
        out,
        r#"<line x1="{LEFT}" y1="{y}" x2="{W}" y2="{y}" class="axis"/><text x="{tx}" y="14" class="tick" text-anchor="end">{}</text><text x="{tx}" y="{y}" class="tick" text-anchor="end">0</text>"#,
        text::html(top_text),
        y = H - BOTTOM,
        tx = LEFT - 6.0,
    );
    let n = values.len().max(1);
    #[allow(clippy::cast_precision_loss)] // a few hundred bars
    let slot = (W - LEFT) / n as f64;
    let every = n.div_ceil(12);
    for (i, ((value, name), text)) in values.iter().zip(labels).zip(texts).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let x = LEFT + slot * i as f64;
        if let Some(v) = value {
            let h = if top > 0.0 { v / top * plot_h } else { 0.0 };
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" class="bar"><title>{}: {}</title></rect>"#,
                x + slot * 0.15,
                H - BOTTOM - h,
                slot * 0.7,
                text::html(name),
                text::html(text),
            );
        }
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
                x + slot / 2.0,
                H - 6.0,
                text::html(name),
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A line of `values` from 0 to the top (or 1, whichever is higher; negatives drawn below a
/// zero line), small enough for a table cell.
pub(super) fn sparkline(label: &str, values: &[Option<f64>]) -> String {
    const W: f64 = 160.0;
    const H: f64 = 36.0;
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let high = known.iter().copied().fold(1.0_f64, f64::max);
    let low = known.iter().copied().fold(0.0_f64, f64::min);
    let y = |v: f64| 2.0 + (high - v) / (high - low) * (H - 4.0);
    let step = W / (values.len().max(2) - 1) as f64;
    let mut out = format!(
        r#"<svg class="spark" viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><line x1="0" y1="{z:.1}" x2="{W}" y2="{z:.1}" class="zero"/>"#,
        text::html(label),
        z = y(0.0),
    );
    // One polyline per run of known values.
    let mut run = String::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            #[allow(clippy::cast_precision_loss)]
            Some(v) => {
                let _ = write!(run, "{:.1},{:.1} ", step * i as f64, y(*v));
            }
            None if !run.is_empty() => {
                let _ = write!(
                    out,
                    r#"<polyline points="{}" class="line"/>"#,
                    run.trim_end()
                );
                run.clear();
            }
            None => {}
        }
    }
    if !run.is_empty() {
        let _ = write!(
            out,
            r#"<polyline points="{}" class="line"/>"#,
            run.trim_end()
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_escape_their_labels_and_scale_to_the_top() {
        let svg = bars(
            "cost <by> day",
            &["<b>".to_owned(), "two".to_owned()],
            &[Some(2.0), Some(1.0)],
            &["$2".to_owned(), "$1".to_owned()],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"cost &lt;by&gt; day\""));
        assert!(svg.contains("<title>&lt;b&gt;: $2</title>"));
        assert!(!svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        // The tallest bar fills the plot (140 high), the other half of it.
        assert!(
            svg.contains(r#"height="140.0""#) && svg.contains(r#"height="70.0""#),
            "{svg}"
        );
    }

    #[test]
    fn a_sparkline_breaks_where_values_are_missing() {
        let svg = sparkline(
            "budget",
            &[Some(1.0), Some(0.5), None, Some(-0.5), Some(-1.0)],
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
    }
}
