//! The `aiart` command line.

mod cli;

use clap::Parser;

/// Training allocates and frees the same large activations every step. glibc's defaults give a
/// freed block over 128 KiB straight back to the kernel (mmap/munmap, and trimming the heap top),
/// so every step faulted its pages in and zeroed them again: ~17% of a fast-style training step
/// and ~22% of a 1080p stylisation in `perf` (`clear_page_erms`). Here blocks come from the heap
/// (no mmap: a 1080p activation is 265 MB, over the 32 MiB most that glibc's mmap threshold takes;
/// glibc still maps a block over 64 MiB that a worker thread's arena cannot hold, but the
/// activations are allocated on the training thread) and freed memory stays for reuse; peak memory stays what the largest step needs, and
/// tests/memory.rs checks that it does not grow from step to step (docs/PERFORMANCE.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets the allocator's parameters; it runs before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() {
    keep_freed_memory();
    aiart::run::signals::install_requeue();
    aiart::run::signals::ignore_file_size_limit();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", aiart::human::error_text(e.as_ref()));
            std::process::exit(1);
        }
    }
}
