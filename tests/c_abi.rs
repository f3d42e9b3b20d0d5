//! Builds every C test in tests/c/ with gcc (C11, -Wall -Wextra -Werror -pedantic) and
//! every C++ one with g++ (C++17), links them against the static library and runs them.
//! With HARDSTORE_VALGRIND=1 each also runs under valgrind, which must report no error
//! and no definitely lost bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn target_dir() -> PathBuf {
    // tests run from target/<profile>/deps/
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// The static library cargo built for this test run. `cargo test` leaves it in deps/
/// (only `cargo build` copies it up a level), next to this test binary.
fn static_lib() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let lib = deps.join("libhardstore.a");
    assert!(lib.exists(), "{} is missing", lib.display());
    lib
}

fn build(src: &Path, out: &Path) {
    let lib = static_lib();
    let cpp = src.extension().is_some_and(|e| e == "cpp");
    let (compiler, std) = if cpp {
        ("g++", "-std=c++17")
    } else {
        ("gcc", "-std=c11")
    };
    let status = Command::new(compiler)
        .args([std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-I"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/include"))
        .arg("-I")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/bindings/cpp"))
        .arg(src)
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(out)
        .status()
        .expect("the C compiler runs");
    assert!(status.success(), "compiling {} failed", src.display());
}

fn run(bin: &Path, scratch: &Path) {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).unwrap();
    let valgrind = std::env::var_os("HARDSTORE_VALGRIND").is_some();
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            "--quiet",
        ])
        .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.arg(scratch).output().expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    assert!(out.status.success(), "{} failed:\n{text}", bin.display());
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn c_and_cpp_tests_pass() {
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let out_dir = target_dir().join("c-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut ran = 0;
    let mut sources: Vec<_> = std::fs::read_dir(&src_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c" || e == "cpp"))
        .collect();
    sources.sort();
    for src in sources {
        let name = src.file_stem().unwrap().to_string_lossy().to_string();
        let bin = out_dir.join(&name);
        build(&src, &bin);
        run(&bin, &out_dir.join(format!("{name}.scratch")));
        ran += 1;
    }
    assert!(ran >= 2, "no C tests found in {}", src_dir.display());
}

/// The hostile-input program (`tests/hostile/`): every exported function called with
/// NULL for each pointer, invalid UTF-8, huge lengths and out-of-range values must give
/// its documented code. Built once with AddressSanitizer and UBSan (run directly) and
/// once plain (run under valgrind with HARDSTORE_VALGRIND=1).
#[test]
fn hostile_c_input_gets_documented_codes() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/hostile.c");
    let out_dir = target_dir().join("c-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let lib = static_lib();
    let compile = |out: &Path, sanitize: bool| {
        let mut c = Command::new("gcc");
        c.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"]);
        if sanitize {
            c.args([
                "-fsanitize=address,undefined",
                "-fno-omit-frame-pointer",
                "-fno-sanitize-recover=all",
            ]);
        }
        let status = c
            .arg("-I")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/include"))
            .arg(&src)
            .arg(&lib)
            .args(["-lpthread", "-ldl", "-lm", "-o"])
            .arg(out)
            .status()
            .expect("gcc runs");
        assert!(status.success(), "compiling {} failed", src.display());
    };
    let asan = out_dir.join("hostile-asan");
    compile(&asan, true);
    let scratch = out_dir.join("hostile-asan.scratch");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let out = Command::new(&asan)
        .arg(&scratch)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the hostile program runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("Sanitizer"),
        "hostile (ASan/UBSan) failed:\n{text}{err}"
    );
    assert!(text.contains(" 0 failures"), "{text}");
    let _ = std::fs::remove_dir_all(&scratch);
    let plain = out_dir.join("hostile");
    compile(&plain, false);
    run(&plain, &out_dir.join("hostile.scratch"));
}
