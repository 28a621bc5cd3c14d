//! Development tools of zhijian, kept out of the server's library: the demo county
//! ([`demo`], for `make run` and the tests) and the benchmark data generator ([`generator`],
//! for `make bench` and the tests). The `zhijian-dev` command runs both.

pub mod coverage_bench;
pub mod demo;
pub mod generator;
pub mod import_bench;
pub mod move_bench;
pub mod stations;
