//! Seeded train/validation/test splits, as the paper gives them.
//!
//! Every split is a pure function of the dataset size and a `u64` seed, so a run can be
//! repeated exactly, on the CLI or in the browser. Random indices are drawn as `u64`, not
//! `usize`, so that a 32-bit WebAssembly build and a 64-bit native build give the same split.
//! Each part of a split is returned sorted ascending: a split is a set of indices, and the
//! order of training is the training loop's business (it shuffles with its own seed).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A permutation of `0..n` from the seed: Fisher–Yates (Durstenfeld, from the end) with
/// `StdRng::seed_from_u64(seed)`.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i as u64) as usize;
        order.swap(i, j);
    }
    order
}

/// Indices of the three parts of a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

/// Sound (Speech Commands has no official split in the paper's use): shuffle with the seed;
/// the first `⌊n/5⌋` of the permutation are the test set (20%), the next `⌊(n − test)/5⌋` the
/// validation set (20% of the rest), and the remainder the training set.
/// On the 3,193-clip archive: 2,044 / 511 / 638.
pub fn sound_split(n: usize, seed: u64) -> Split {
    let order = permutation(n, seed);
    let n_test = n / 5;
    let n_val = (n - n_test) / 5;
    let (test, rest) = order.split_at(n_test);
    let (val, train) = rest.split_at(n_val);
    Split {
        train: sorted(train.to_vec()),
        val: sorted(val.to_vec()),
        test: sorted(test.to_vec()),
    }
}

/// Text: the official test set stays; validation = every fifth training review, i.e. the
/// indices with `i % 5 == 4` (the 5th, 10th, ...), the rest train. No seed is needed, and
/// because the reviews are sorted by path (all `neg`, then all `pos`) the validation set is
/// as balanced as the training set: 20,000 / 5,000 on the official 25,000.
/// Returns `(train, val)`.
pub fn every_fifth(n_train: usize) -> (Vec<usize>, Vec<usize>) {
    (0..n_train).partition(|i| i % 5 != 4)
}

/// Image: the official test set stays; validation = the last `round(n_train × fraction)`
/// indices of a seeded permutation of the official training set (10,000 of 50,000 for
/// `fraction = 0.2`), the rest train. Rounding rather than flooring keeps `0.2 × 50,000` at
/// 10,000 despite floating point. A fraction outside `[0, 1]` is clamped (NaN counts as 0).
/// Returns `(train, val)`.
pub fn holdout(n_train: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    let n_val = ((n_train as f64 * fraction).round() as usize).min(n_train);
    let order = permutation(n_train, seed);
    let (train, val) = order.split_at(n_train - n_val);
    (sorted(train.to_vec()), sorted(val.to_vec()))
}
