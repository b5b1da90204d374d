//! The contract files are built into the binary (src/contract/source.rs): rebuild when they change.

fn main() {
    for dir in ["schemas", "fixtures", "snapshots"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
