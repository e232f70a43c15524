//! Link every binary, test and example of this crate with an rpath to
//! libtorch's `lib` directory, so nothing has to export LD_LIBRARY_PATH.
//!
//! LIBTORCH comes from the environment, or from `.cargo/config.toml`
//! (`.venv/libtorch`, made by `make setup`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=build.rs");
    let lib = match (std::env::var("LIBTORCH_LIB"), std::env::var("LIBTORCH")) {
        (Ok(lib), _) => PathBuf::from(lib).join("lib"),
        (_, Ok(root)) => PathBuf::from(root).join("lib"),
        _ => {
            println!(
                "cargo:warning=LIBTORCH is not set: run `make setup` (or set LIBTORCH); \
                 binaries will need LD_LIBRARY_PATH to find libtorch"
            );
            return;
        }
    };
    // Resolve the .venv/libtorch symlink so the rpath survives `cargo install`
    // copies; keep the path as given when it does not exist (torch-sys reports).
    let lib = lib.canonicalize().unwrap_or(lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    // rustc links with --as-needed: nothing references libtorch_cuda's symbols
    // directly, so without this the CUDA backend would never be loaded and
    // tch::Cuda::is_available() would be false even on a GPU machine.
    let cuda = lib.join("libtorch_cuda.so");
    if cuda.exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,{},--as-needed", cuda.display());
    }
}
