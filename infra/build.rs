//! `embed_migrations!` reads `../migrations` at compile time, but cargo does not know it: without
//! this, a changed migration is not embedded until some Rust file of the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
