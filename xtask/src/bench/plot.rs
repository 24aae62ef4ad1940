//! The bench's SVG plot: median latency (µs, log scale hugging the data) against CPU count (the
//! counts run, evenly spaced), one line per metric (and one each for panic-to-exit and the
//! restart-latency rows), the legend in its own column.
//! plotters' SVG backend only: text is written as SVG `<text>`, so no font files are needed.

use std::path::Path;

use anyhow::{bail, Result};
use plotters::prelude::*;

use crate::bench::report::{BootResult, BOOT_METRICS, METRICS, PANIC_TO_EXIT, RESTART_METRICS};

/// Picture size in pixels: the chart on the left, the legend in a column of its own on the
/// right (so it covers no point and the y axis needs no headroom for it).
const SIZE: (u32, u32) = (1100, 600);
/// Width of the chart part.
const CHART_WIDTH: u32 = 820;
/// Legend rows: height, and where the first one sits.
const LEGEND_ROW_PX: i32 = 22;
const LEGEND_TOP_PX: i32 = 60;

/// Line colours, told apart at a glance (Okabe and Ito's colour-blind-safe eight, then six
/// darker distinct ones); with more series than colours, the markers differ too.
const PALETTE: [RGBColor; 14] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
    RGBColor(128, 0, 0),
    RGBColor(0, 0, 128),
    RGBColor(128, 128, 0),
    RGBColor(0, 128, 128),
    RGBColor(145, 30, 180),
    RGBColor(128, 128, 128),
];

/// One metric's points: (index of the CPU count among those run, median in µs).
type Series = (&'static str, Vec<(f64, f64)>);

/// Writes the plot of `boots` to `path`.
pub fn write_svg(path: &Path, boots: &[BootResult]) -> Result<()> {
    let cpus = cpu_counts(boots);
    let series = series(boots, &cpus);
    let values = || {
        series
            .iter()
            .flat_map(|(_, points)| points.iter().map(|p| p.1))
    };
    let (Some(y_min), Some(y_max)) = (values().reduce(f64::min), values().reduce(f64::max)) else {
        bail!("nothing to plot: no metric was measured (only smp 1?)");
    };
    let (y_bottom, y_top) = y_range(y_min, y_max);

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(CHART_WIDTH);
    let mut chart = ChartBuilder::on(&left)
        .caption("allstop: median latency vs CPU count", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5..cpus.len() as f64 - 0.5, (y_bottom..y_top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("CPUs (-smp)")
        .y_desc("median latency (µs, log scale)")
        .x_labels(cpus.len())
        .x_label_formatter(&|x| category_label(&cpus, *x))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (i, (metric, points)) in series.into_iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let marker = i / PALETTE.len();
        chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
        for &p in &points {
            draw_marker(&mut chart, p, marker, color)?;
        }
        let y = LEGEND_TOP_PX + i as i32 * LEGEND_ROW_PX;
        right.draw(&PathElement::new([(10, y), (40, y)], color.stroke_width(2)))?;
        right.draw(&Text::new(metric, (48, y - 7), ("sans-serif", 14)))?;
    }
    root.present()?;
    Ok(())
}

/// A point's marker: a filled circle, then a triangle, then a cross for series that reuse a
/// colour.
fn draw_marker<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    p: (f64, f64),
    kind: usize,
    color: RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = color.filled();
    match kind % 3 {
        0 => chart.draw_series([Circle::new(p, 4, style)])?,
        1 => chart.draw_series([TriangleMarker::new(p, 5, style)])?,
        _ => chart.draw_series([Cross::new(p, 4, color.stroke_width(2))])?,
    };
    Ok(())
}

/// The CPU counts run, in increasing order: the x axis's categories.
fn cpu_counts(boots: &[BootResult]) -> Vec<u32> {
    let mut cpus: Vec<u32> = boots.iter().map(|b| b.smp).collect();
    cpus.sort_unstable();
    cpus.dedup();
    cpus
}

/// The label at position `x` of the category axis: the CPU count there, none between.
fn category_label(cpus: &[u32], x: f64) -> String {
    let index = x.round();
    match cpus.get(index as usize) {
        Some(n) if (x - index).abs() < 1e-6 && index >= 0.0 => n.to_string(),
        _ => String::new(),
    }
}

/// The y axis (log scale): a little room around the data, no more.
fn y_range(y_min: f64, y_max: f64) -> (f64, f64) {
    (y_min / 1.5, y_max * 1.5)
}

/// The metrics measured at least once, in table order, then panic-to-exit, the restart and the
/// boot-time rows, with their (position of the CPU count in `cpus`, median µs) points.
fn series(boots: &[BootResult], cpus: &[u32]) -> Vec<Series> {
    let x = |smp: u32| cpus.iter().position(|&n| n == smp).unwrap_or_default() as f64;
    let points = |ns: &dyn Fn(&BootResult) -> Option<u64>| -> Vec<(f64, f64)> {
        boots
            .iter()
            .filter_map(|b| Some((x(b.smp), ns(b)? as f64 / 1e3)))
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
    let boot = BOOT_METRICS.iter().map(|&(metric, _)| {
        (
            metric,
            points(&|b| b.boot_metric(metric).map(|f| f.median_ns)),
        )
    });
    guest
        .chain([host])
        .chain(restart)
        .chain(boot)
        .filter(|(_, points)| !points.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_counts_are_evenly_spaced_categories() {
        let cpus = [1, 2, 4, 8, 64];
        assert_eq!(category_label(&cpus, 0.0), "1");
        assert_eq!(category_label(&cpus, 3.0), "8");
        assert_eq!(category_label(&cpus, 4.0), "64");
        assert_eq!(
            category_label(&cpus, 1.5),
            "",
            "no label between categories"
        );
        assert_eq!(category_label(&cpus, 5.0), "");
        assert_eq!(category_label(&cpus, -1.0), "");
    }

    #[test]
    fn the_y_axis_hugs_the_data() {
        let (bottom, top) = y_range(2.0, 200_000.0);
        assert!(bottom < 2.0 && bottom > 1.0, "{bottom}");
        assert!(top > 200_000.0 && top < 400_000.0, "{top}");
    }

    #[test]
    fn the_palette_colours_are_all_different() {
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                assert_ne!((a.0, a.1, a.2), (b.0, b.1, b.2));
            }
        }
    }
}
