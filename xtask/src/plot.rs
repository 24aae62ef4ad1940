//! The bench's SVG plot: median latency (log scale) against CPU count, one line per metric.
//! plotters' SVG backend only: text is written as SVG `<text>`, so no font files are needed.

use std::path::Path;

use anyhow::{bail, Result};
use plotters::prelude::*;

use crate::bench_report::{BootResult, METRICS};

/// Picture size in pixels.
const SIZE: (u32, u32) = (960, 600);

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
    let x_max = boots.iter().map(|b| b.smp).max().unwrap_or(1) as f64;

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("allstop: median latency vs CPU count", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(0.5..x_max + 0.5, (y_min / 2.0..y_max * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("CPUs (-smp)")
        .y_desc("median latency (us, log scale)")
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    for (i, (metric, points)) in series.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
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
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The metrics measured at least once, in table order, with their (CPUs, median µs) points.
fn series(boots: &[BootResult]) -> Vec<Series> {
    METRICS
        .iter()
        .map(|&(metric, _)| {
            let points = boots
                .iter()
                .filter_map(|b| {
                    let f = b.guest.metrics.get(metric)?;
                    Some((f64::from(b.smp), f.median_ns as f64 / 1e3))
                })
                .collect();
            (metric, points)
        })
        .filter(|(_, points): &Series| !points.is_empty())
        .collect()
}
