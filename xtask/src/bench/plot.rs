//! The bench's SVG plot: median latency (log scale) against CPU count, one line per metric
//! (and one each for panic-to-exit and the restart-latency rows).
//! plotters' SVG backend only: text is written as SVG `<text>`, so no font files are needed.

use std::path::Path;

use anyhow::{bail, Result};
use plotters::prelude::*;

use crate::bench::report::{BootResult, METRICS, PANIC_TO_EXIT, RESTART_METRICS};

/// Picture size in pixels.
const SIZE: (u32, u32) = (960, 600);

/// Height of the plotting area in pixels (the picture less caption, margins and x labels).
const PLOT_HEIGHT_PX: f64 = 495.0;
/// Height of one legend row, and of the legend's frame and padding, in pixels.
const LEGEND_ROW_PX: f64 = 15.0;
const LEGEND_FRAME_PX: f64 = 20.0;

/// One metric's points: (CPU count, median in µs).
type Series = (&'static str, Vec<(f64, f64)>);

/// Writes the plot of `boots` to `path`.
pub fn write_svg(path: &Path, boots: &[BootResult]) -> Result<()> {
    let series = series(boots);
    let values = || series.iter().flat_map(|(_, points)| points.iter());
    let Some(y_max) = values().map(|p| p.1).reduce(f64::max) else {
        bail!("nothing to plot: no metric was measured (only smp 1?)");
    };
    let y_min = values().map(|p| p.1).fold(y_max, f64::min);
    let (y_bottom, y_top) = y_range(y_min, y_max, series.len());
    let x_max = boots.iter().map(|b| b.smp).max().unwrap_or(1) as f64;

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("allstop: median latency vs CPU count", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(0.5..x_max + 0.5, (y_bottom..y_top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("CPUs (-smp)")
        .y_desc("median latency (us, log scale)")
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    let hues = series.len() as f64;
    for (i, (metric, points)) in series.into_iter().enumerate() {
        // Evenly spaced hues, saturated and dark enough to read on white.
        let color = HSLColor(i as f64 / hues, 0.85, 0.4).to_rgba();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(metric)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The y axis (log scale) from half the smallest value up to where the legend (upper right, one
/// row per series) sits wholly above the largest value, so that it covers no point.
fn y_range(y_min: f64, y_max: f64, series: usize) -> (f64, f64) {
    let bottom = y_min / 2.0;
    let legend = (series as f64 * LEGEND_ROW_PX + LEGEND_FRAME_PX) / PLOT_HEIGHT_PX;
    // The data may use the lower (1 - legend) of the height, less a row for breathing space.
    let data = (1.0 - legend - LEGEND_ROW_PX / PLOT_HEIGHT_PX).max(0.2);
    (bottom, bottom * (y_max / bottom).powf(1.0 / data))
}

/// The metrics measured at least once, in table order, then panic-to-exit and the restart
/// rows, with their (CPUs, median µs) points.
fn series(boots: &[BootResult]) -> Vec<Series> {
    let points = |ns: &dyn Fn(&BootResult) -> Option<u64>| -> Vec<(f64, f64)> {
        boots
            .iter()
            .filter_map(|b| Some((f64::from(b.smp), ns(b)? as f64 / 1e3)))
            .collect()
    };
    let guest = METRICS.iter().map(|&(metric, _)| {
        (
            metric.name(),
            points(&|b| b.guest.metric(metric).map(|f| f.median_ns)),
        )
    });
    let host = (PANIC_TO_EXIT, points(&|b| b.panic_to_exit_ns));
    let restart = RESTART_METRICS.iter().map(|&(metric, _)| {
        (
            metric,
            points(&|b| b.restart_metric(metric).map(|f| f.median_ns)),
        )
    });
    guest
        .chain([host])
        .chain(restart)
        .filter(|(_, points)| !points.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_sits_above_the_largest_value() {
        let (bottom, top) = y_range(2.0, 200_000.0, 14);
        assert_eq!(bottom, 1.0);
        // The largest value's height as a fraction of the axis (log scale) ...
        let at = (200_000f64.ln() - bottom.ln()) / (top.ln() - bottom.ln());
        // ... lies below the legend's bottom edge.
        let legend = (14.0 * LEGEND_ROW_PX + LEGEND_FRAME_PX) / PLOT_HEIGHT_PX;
        assert!(at < 1.0 - legend, "{at} vs {legend}");
        // Fewer series, smaller legend, less headroom.
        assert!(y_range(2.0, 200_000.0, 3).1 < top);
    }
}
