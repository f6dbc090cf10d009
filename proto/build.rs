//! Compiles every .proto file under this folder with protox (a pure-Rust protobuf compiler,
//! so no `protoc` is needed on the machine) and generates prost messages and tonic services
//! into OUT_DIR. The encoded descriptor set is written beside them for gRPC reflection.

use std::path::{Path, PathBuf};

fn proto_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            proto_files(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut files = Vec::new();
    proto_files(&root.join("slrt"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed=slrt");

    let descriptors = protox::compile(&files, [&root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("slrt_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;

    // Type names let every event be stamped with its full protobuf name (`prost::Name`),
    // straight from the schema.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(descriptors, config)?;
    Ok(())
}
