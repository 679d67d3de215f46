//! The SVG: latency percentiles over time (every step, one after the other), and the latency
//! distribution of each step on a "nines" axis, as HdrHistogram plots show it.

use std::path::Path;

use plotters::prelude::*;

use crate::load::StepReport;

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 900;
/// Lowest floor of the logarithmic latency axes, ms.
const FLOOR_MS: f64 = 0.01;

/// Writes the plot of `steps` to `path`.
pub fn write(path: &Path, steps: &[StepReport]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2);
    timeline(&top, steps)?;
    distribution(&bottom, steps)?;
    root.present()?;
    Ok(())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// A logarithmic axis range around `values`.
fn span(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values.fold((f64::MAX, 1.0f64), |(low, high), value| {
        (low.min(value), high.max(value))
    });
    (low / 1.5).clamp(FLOOR_MS, 1.0)..high * 1.5
}

/// `0` → `0%`, `1` → `90%`, `2` → `99%`, `3` → `99.9%`.
fn nines_label(nines: f64) -> String {
    let percent = format!("{:.4}", 100.0 - 100.0 * 10f64.powf(-nines));
    format!("{}%", percent.trim_end_matches('0').trim_end_matches('.'))
}

fn timeline(area: &Area<'_>, steps: &[StepReport]) -> anyhow::Result<()> {
    // Steps follow each other on one time axis.
    let mut offset = 0.0;
    let mut series: [Vec<(f64, f64)>; 4] = Default::default();
    for step in steps {
        for window in &step.timeline {
            let x = offset + window.start_s;
            let latency = &window.latency_ms;
            for (line, value) in
                series
                    .iter_mut()
                    .zip([latency.p50, latency.p90, latency.p99, latency.max])
            {
                line.push((x, value));
            }
        }
        offset += step.seconds;
    }
    let range = span(series.iter().flatten().map(|(_, y)| *y));
    let mut chart = ChartBuilder::on(area)
        .caption(
            "send→receive latency per second (all steps in turn)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..offset.max(1.0), range.log_scale())?;
    chart
        .configure_mesh()
        .x_desc("seconds of load")
        .y_desc("latency, ms")
        .draw()?;
    let colors = [BLUE, GREEN, RED, BLACK];
    for ((line, name), color) in series
        .into_iter()
        .zip(["p50", "p90", "p99", "max"])
        .zip(colors)
    {
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn distribution(area: &Area<'_>, steps: &[StepReport]) -> anyhow::Result<()> {
    let nines = |quantile: f64| -(1.0 - quantile).max(1e-9).log10();
    let most = steps
        .iter()
        .flat_map(|step| step.distribution.last())
        .map(|point| nines(point.quantile))
        .fold(1.0, f64::max)
        .ceil();
    let range = span(
        steps
            .iter()
            .flat_map(|step| step.distribution.iter().map(|point| point.ms)),
    );
    let mut chart = ChartBuilder::on(area)
        .caption("latency distribution per step", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..most, range.log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency, ms")
        .x_labels(most as usize + 1)
        .x_label_formatter(&|x| nines_label(*x))
        .draw()?;
    for (number, step) in steps.iter().enumerate() {
        let color = Palette99::pick(number).to_rgba();
        let points = step
            .distribution
            .iter()
            .map(|point| (nines(point.quantile), point.ms));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(format!("{:.0} msg/s", step.rate))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
