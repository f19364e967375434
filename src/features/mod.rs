//! Turning raw inputs into what the models read: MFCC matrices for sound, token indices for text.
//!
//! Images need no feature step (the CIFAR loader already yields CHW floats in [0, 1]).

pub mod mfcc;
pub mod text;
