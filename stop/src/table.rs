//! Where a controller keeps its CPU records.
#![forbid(unsafe_code)]

use crate::record::CpuRecord;

/// Storage for a [`StopController`](crate::StopController)'s records, one per CPU index; its
/// length is the controller's capacity.
///
/// A fixed array (`[CpuRecord; N]`, what [`StopController::new`](crate::StopController::new)
/// uses) is one. A runtime that learns the CPU count only at boot can instead hand over memory
/// sized then: its table may be empty until then, but once the first CPU is registered it must
/// return the same records on every call.
pub trait RecordTable {
    /// Every record, by CPU index.
    fn all(&self) -> &[CpuRecord];
}

impl<const N: usize> RecordTable for [CpuRecord; N] {
    fn all(&self) -> &[CpuRecord] {
        self
    }
}
