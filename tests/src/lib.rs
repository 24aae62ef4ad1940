//! Host-side integration tests for allstop live in `tests/tests/`.
