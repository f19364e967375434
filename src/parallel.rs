//! How the lab splits work over threads (the kernels, decoding clips, a pair's forwards):
//! natively over rayon's pool (both cores here), in the page's threaded build over its web
//! workers, and otherwise on the one thread the page's worker has.
//!
//! Every split is by fixed chunks of the output, each written by exactly one task, and no
//! reduction depends on how the chunks were scheduled: the results are bit-identical whatever
//! the number of threads.

/// Below this many input elements a kernel runs on the calling thread: spawning costs more.
#[cfg(not(target_arch = "wasm32"))]
const PARALLEL_MIN: usize = 32 * 1024;
/// In the page's threaded build a split wakes web workers (`Atomics.notify`), which costs far
/// more than waking a native thread: only big work is split (measured: at 32 Ki a batch-1
/// look at the STRIP CNN got slower on two threads than on one).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
const PARALLEL_MIN: usize = 256 * 1024;

/// The threaded page build's counterpart for gemm (burn-flex's matmuls and the kernels' own):
/// its products are split over threads only from 16× gemm's default size on. Called once at
/// start.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub fn split_only_big_products() {
    gemm::set_threading_threshold(16 * gemm::DEFAULT_THREADING_THRESHOLD);
}

/// Calls `f(i, chunk)` for each `chunk`-sized piece `i` of `out` (the last may be shorter),
/// in parallel when `work` (elements the call reads) is large enough.
pub fn for_each_chunk<F>(out: &mut [f32], chunk: usize, work: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Send + Sync,
{
    if chunk == 0 || out.is_empty() {
        return;
    }
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    if work >= PARALLEL_MIN && out.len() > chunk {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
        return;
    }
    let _ = work;
    out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// `f(i)` for `i` in `0..n`, in parallel where there are threads and `work` is large enough; the
/// results in index order.
pub fn map_indices<T, F>(n: usize, work: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Send + Sync,
{
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    if work >= PARALLEL_MIN && n > 1 {
        use rayon::prelude::*;
        return (0..n).into_par_iter().map(f).collect();
    }
    let _ = work;
    (0..n).map(f).collect()
}

/// `f(i)` for `i` in `0..n`, each on its own task where there are threads (natively, and in
/// the page's threaded build), whatever the size: for a few independent pieces of work that
/// are each too small to split (the two forwards of a pair at batch 1). The results in index
/// order.
pub fn map_each<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Send + Sync,
{
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    if n > 1 {
        use rayon::prelude::*;
        return (0..n).into_par_iter().map(f).collect();
    }
    (0..n).map(f).collect()
}
