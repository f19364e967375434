//! How the native processes (the CLI, the benchmarks) ask the C allocator to keep freed memory.
//!
//! A training step allocates and frees tensors of tens of megabytes (the small sound CNN's first
//! activation is 62 MB at batch 256). glibc serves requests above its mmap threshold with a fresh
//! `mmap` and returns them to the kernel on `free`, so every step faults in, and the kernel
//! zeroes, every page of every large tensor again: measured, a third of a small-CNN training step
//! in the kernel's page-fault and page-clearing code, and that step 1.9× faster (STRIP 1.2×) with
//! the setting below. Keeping freed memory in the heap costs the process its peak heap, which it
//! reaches again at the next step anyway.

/// Makes glibc's malloc serve every request from its heap (no per-allocation `mmap`) and never
/// trim the heap's top back to the kernel. Call once at start, before threads allocate; a no-op
/// elsewhere than on glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's parameters; it is called before any other
    // thread of ours exists, and glibc serialises it with allocation anyway.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
