//! What the report shows, whatever it is rendered as: the metrics records arranged as one row
//! per image and one column per plan (in the stack's plan order), the measured quantities, and
//! the two comparisons — a plan against the first plan, a number against the previously
//! published version.
use super::units::{bytes, change_percent, seconds};
use crate::stack::metrics_record::{Measured, MetricsRecord};

pub(crate) struct Report {
    /// Column groups; `[None]` for a stack without plans.
    pub plans: Vec<Option<String>>,
    pub rows: Vec<Row>,
    /// The short commit the report was written at, when known.
    pub commit: Option<String>,
}

pub(crate) struct Row {
    pub image: String,
    /// One per plan, in the order of `Report::plans`; None: the image has no record there.
    pub cells: Vec<Option<MetricsRecord>>,
}

/// One measured quantity: a column of each plan's group, and one chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Size,
    Layers,
    Build,
    Start,
    MemoryPeak,
    MemoryAverage,
}

impl Metric {
    pub(crate) const ALL: [Metric; 6] = [
        Metric::Size,
        Metric::Layers,
        Metric::Build,
        Metric::Start,
        Metric::MemoryPeak,
        Metric::MemoryAverage,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Metric::Size => "size",
            Metric::Layers => "layers",
            Metric::Build => "build time",
            Metric::Start => "cold start",
            Metric::MemoryPeak => "memory peak",
            Metric::MemoryAverage => "memory avg",
        }
    }

    /// The number, None when it was not measured.
    pub(crate) fn value(self, m: &Measured) -> Option<f64> {
        match self {
            Metric::Size => Some(m.size_bytes as f64),
            Metric::Layers => Some(m.layers as f64),
            Metric::Build => m.build_seconds,
            Metric::Start => m.start_seconds,
            Metric::MemoryPeak => m.memory_peak_bytes.map(|b| b as f64),
            Metric::MemoryAverage => m.memory_average_bytes.map(|b| b as f64),
        }
    }

    pub(crate) fn format(self, value: f64) -> String {
        match self {
            Metric::Size | Metric::MemoryPeak | Metric::MemoryAverage => bytes(value as u64),
            Metric::Layers => format!("{value:.0}"),
            Metric::Build | Metric::Start => seconds(value),
        }
    }
}

impl Report {
    /// Rows in the order the records come (the stack's build order), plan columns in `plans`
    /// order; a record of a plan not in `plans` is left out.
    pub(crate) fn new(
        records: Vec<MetricsRecord>,
        plans: &[String],
        commit: Option<String>,
    ) -> Report {
        let plans: Vec<Option<String>> = if plans.is_empty() {
            vec![None]
        } else {
            plans.iter().cloned().map(Some).collect()
        };
        let mut rows: Vec<Row> = Vec::new();
        for record in records {
            let Some(column) = plans.iter().position(|p| *p == record.plan) else {
                continue;
            };
            let at = match rows.iter().position(|r| r.image == record.image) {
                Some(at) => at,
                None => {
                    rows.push(Row {
                        image: record.image.clone(),
                        cells: vec![None; plans.len()],
                    });
                    rows.len() - 1
                }
            };
            rows[at].cells[column] = Some(record);
        }
        Report {
            plans,
            rows,
            commit,
        }
    }

    /// The quantities at least one record has a number for (size and layers always).
    pub(crate) fn metrics(&self) -> Vec<Metric> {
        Metric::ALL
            .into_iter()
            .filter(|m| {
                self.rows
                    .iter()
                    .flat_map(|r| r.cells.iter().flatten())
                    .any(|c| m.value(&c.numbers).is_some())
            })
            .collect()
    }

    /// The quantities no record has a number for, to say what was not measured.
    pub(crate) fn unmeasured(&self) -> Vec<Metric> {
        let shown = self.metrics();
        Metric::ALL
            .into_iter()
            .filter(|m| !shown.contains(m))
            .collect()
    }

    pub(crate) fn plan_label(&self, column: usize) -> &str {
        self.plans[column].as_deref().unwrap_or("value")
    }
}

impl Row {
    pub(crate) fn value(&self, column: usize, metric: Metric) -> Option<f64> {
        metric.value(&self.cells[column].as_ref()?.numbers)
    }

    /// Plan `column` against the first plan, in percent; None for the first plan itself or a
    /// missing number.
    pub(crate) fn against_first_plan(&self, column: usize, metric: Metric) -> Option<f64> {
        if column == 0 {
            return None;
        }
        change_percent(self.value(0, metric)?, self.value(column, metric)?)
    }

    /// The change against the previously published version, in percent; None without one,
    /// or when its number is missing or not comparable (a compressed size).
    pub(crate) fn against_previous(&self, column: usize, metric: Metric) -> Option<f64> {
        let record = self.cells[column].as_ref()?;
        let previous = record.previous.as_ref()?;
        if metric == Metric::Size && previous.size_compressed {
            return None;
        }
        change_percent(
            metric.value(&previous.numbers)?,
            metric.value(&record.numbers)?,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stack::metrics_record::Previous;

    pub(crate) fn record(image: &str, plan: Option<&str>, size: i64) -> MetricsRecord {
        MetricsRecord {
            image: image.into(),
            plan: plan.map(str::to_string),
            reference: format!("r/{image}:t"),
            content_reference: format!("r/{image}:id"),
            measured_at: 0,
            numbers: Measured {
                size_bytes: size,
                layers: 2,
                ..Default::default()
            },
            previous: None,
        }
    }

    /// web regular 1000 / slim 220 bytes, slim with a previous version of 200 bytes; api
    /// regular only.
    pub(crate) fn sample() -> Report {
        let mut slim = record("web", Some("slim"), 220);
        slim.previous = Some(Previous {
            reference: "r/web:slim-stable".into(),
            numbers: Measured {
                size_bytes: 200,
                layers: 2,
                ..Default::default()
            },
            size_compressed: false,
        });
        slim.numbers.start_seconds = Some(0.5);
        let records = vec![
            record("web", Some("regular"), 1000),
            slim,
            record("api", Some("regular"), 50),
            record("gone", Some("retired"), 1),
        ];
        Report::new(
            records,
            &["regular".to_string(), "slim".to_string()],
            Some("abc1234".into()),
        )
    }

    #[test]
    fn rows_per_image_and_columns_per_plan() {
        let r = sample();
        assert_eq!(r.rows.len(), 2, "a plan no longer declared is left out");
        assert_eq!(r.rows[0].image, "web");
        assert!(r.rows[1].cells[1].is_none(), "api has no slim record");
        assert_eq!(r.plan_label(1), "slim");
    }

    #[test]
    fn comparisons_between_plans_and_against_the_previous_version() {
        let r = sample();
        let web = &r.rows[0];
        assert_eq!(web.against_first_plan(1, Metric::Size), Some(-78.0));
        assert_eq!(web.against_first_plan(0, Metric::Size), None);
        assert_eq!(web.against_previous(1, Metric::Size), Some(10.0));
        assert_eq!(web.against_previous(0, Metric::Size), None);
        assert_eq!(
            web.against_first_plan(1, Metric::Start),
            None,
            "regular unmeasured"
        );
    }

    #[test]
    fn only_measured_quantities_are_shown() {
        let r = sample();
        assert_eq!(
            r.metrics(),
            vec![Metric::Size, Metric::Layers, Metric::Start]
        );
        assert_eq!(
            r.unmeasured(),
            vec![Metric::Build, Metric::MemoryPeak, Metric::MemoryAverage]
        );
    }
}
