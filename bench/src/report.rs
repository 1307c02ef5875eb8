//! The one results table: a row per metric, a column per server (ours,
//! samod, js) and a column with the target and whether ours meets it.

use crate::target::Kind;

/// What ours should achieve on a metric.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// No target: printed for comparison.
    None,
    /// Ours at most this value.
    AtMost(f64),
    /// Ours at least this value (a throughput).
    AtLeast(f64),
    /// Ours at least this many times lower than js.
    TimesLowerThanJs(f64),
}

/// A measured value, or what happened instead.
#[derive(Debug, Clone)]
pub enum Value {
    Num(f64),
    Text(String),
}

/// One measurement of one scenario on one server.
#[derive(Debug, Clone)]
pub struct Metric {
    pub label: String,
    pub value: Value,
    pub unit: &'static str,
    /// Decimals to print.
    pub decimals: usize,
    pub goal: Goal,
}

impl Metric {
    pub fn num(label: impl Into<String>, value: f64, unit: &'static str, decimals: usize) -> Self {
        Self {
            label: label.into(),
            value: Value::Num(value),
            unit,
            decimals,
            goal: Goal::None,
        }
    }

    pub fn text(label: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: Value::Text(text.into()),
            unit: "",
            decimals: 0,
            goal: Goal::None,
        }
    }

    pub fn goal(mut self, goal: Goal) -> Self {
        self.goal = goal;
        self
    }
}

struct Row {
    label: String,
    unit: &'static str,
    decimals: usize,
    goal: Goal,
    ours: Option<Value>,
    samod: Option<Value>,
    js: Option<Value>,
}

/// All rows, in the order they were first measured.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    pub fn add(&mut self, kind: Kind, metric: Metric) {
        let i = match self.rows.iter().position(|r| r.label == metric.label) {
            Some(i) => i,
            None => {
                self.rows.push(Row {
                    label: metric.label.clone(),
                    unit: metric.unit,
                    decimals: metric.decimals,
                    goal: metric.goal,
                    ours: None,
                    samod: None,
                    js: None,
                });
                self.rows.len() - 1
            }
        };
        let row = &mut self.rows[i];
        if !matches!(metric.goal, Goal::None) {
            row.goal = metric.goal;
        }
        if row.unit.is_empty() {
            row.unit = metric.unit;
            row.decimals = metric.decimals;
        }
        match kind {
            Kind::Ours => row.ours = Some(metric.value),
            Kind::Samod => row.samod = Some(metric.value),
            Kind::Js => row.js = Some(metric.value),
        }
    }

    pub fn print(&self) {
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.label.clone(),
                    show(r.ours.as_ref(), r.unit, r.decimals),
                    show(r.samod.as_ref(), r.unit, r.decimals),
                    show(r.js.as_ref(), r.unit, r.decimals),
                    verdict(r),
                ]
            })
            .collect();
        let header = [
            "metric".to_owned(),
            "ours".to_owned(),
            "samod".to_owned(),
            "js".to_owned(),
            "target / verdict".to_owned(),
        ];
        let mut width = [0; 5];
        for row in std::iter::once(&header).chain(&cells) {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |row: &[String; 5]| {
            format!(
                "| {:<w0$} | {:>w1$} | {:>w2$} | {:>w3$} | {:<w4$} |",
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                w0 = width[0],
                w1 = width[1],
                w2 = width[2],
                w3 = width[3],
                w4 = width[4]
            )
        };
        println!("{}", line(&header));
        println!(
            "|{}|{}:|{}:|{}:|{}|",
            "-".repeat(width[0] + 2),
            "-".repeat(width[1] + 1),
            "-".repeat(width[2] + 1),
            "-".repeat(width[3] + 1),
            "-".repeat(width[4] + 2)
        );
        for row in &cells {
            println!("{}", line(row));
        }
    }
}

fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let s = format!("{v:.decimals$}");
    // Thousands separators on the integer part.
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

fn show(v: Option<&Value>, unit: &str, decimals: usize) -> String {
    match v {
        None => "-".into(),
        Some(Value::Text(t)) => t.clone(),
        Some(Value::Num(n)) if unit.is_empty() => number(*n, decimals),
        Some(Value::Num(n)) => format!("{} {unit}", number(*n, decimals)),
    }
}

fn verdict(r: &Row) -> String {
    let ours = match &r.ours {
        Some(Value::Num(v)) if v.is_finite() => Some(*v),
        _ => None,
    };
    let js = match &r.js {
        Some(Value::Num(v)) if v.is_finite() => Some(*v),
        _ => None,
    };
    match r.goal {
        Goal::None => String::new(),
        Goal::AtMost(t) => {
            let target = format!("<= {} {}", number(t, r.decimals), r.unit);
            match ours {
                None => format!("{target}: not measured"),
                Some(v) if v <= t => format!("{target}: met"),
                Some(v) => format!(
                    "{target}: MISSED by {} {} ({:.1}x)",
                    number(v - t, r.decimals),
                    r.unit,
                    v / t
                ),
            }
        }
        Goal::AtLeast(t) => {
            let target = format!(">= {} {}", number(t, r.decimals), r.unit);
            match ours {
                None => format!("{target}: not measured"),
                Some(v) if v >= t => format!("{target}: met"),
                Some(v) => format!(
                    "{target}: MISSED by {} {} ({:.1}x)",
                    number(t - v, r.decimals),
                    r.unit,
                    t / v.max(f64::MIN_POSITIVE)
                ),
            }
        }
        Goal::TimesLowerThanJs(n) => {
            let target = format!(">= {n}x lower than js");
            match (ours, js) {
                (Some(o), Some(j)) if o > 0.0 => {
                    let ratio = j / o;
                    if ratio >= n {
                        format!("{target}: met ({ratio:.1}x)")
                    } else {
                        format!("{target}: MISSED ({ratio:.1}x)")
                    }
                }
                _ => format!("{target}: not measured"),
            }
        }
    }
}
