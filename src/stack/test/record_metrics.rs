//! The metrics record `test:X` writes (SPEC §6): the numbers every tested image has — size and
//! layer count from the engine, build seconds from the build record — and the previously
//! published version's (`previous`), before the budgets judge them.
use crate::exec::work::{now_unix, TaskError};
use crate::stack::build_record::BuildRecord;
use crate::stack::metrics_record::{Measured, MetricsRecord};
use crate::stack::previous::previous_of;
use crate::stack::runtime::Runtime;

/// Variant `v`'s record for the local image `image` (its content reference), with the start
/// and memory numbers `measured` (none without a `measure` table).
pub(crate) fn record_of(
    rt: &Runtime,
    v: usize,
    image: &str,
    measured: Measured,
) -> Result<MetricsRecord, TaskError> {
    let engine = rt.engine()?;
    let config = engine.image_config(image).map_err(TaskError::from)?;
    let variant = rt.variant(v);
    Ok(MetricsRecord {
        image: variant.image.clone(),
        plan: variant.plan.clone(),
        reference: rt.human(v).to_string(),
        content_reference: image.to_string(),
        measured_at: now_unix(),
        numbers: Measured {
            size_bytes: config.size,
            layers: config.layers,
            build_seconds: BuildRecord::read_for(rt, v, image).map(|b| b.build_seconds),
            ..measured
        },
        previous: previous_of(rt, v, &config.id)?,
    })
}
