//! The interactive view's computations natively (`src/page/look.rs`, `src/page/sweep.rs`,
//! `src/model/evidence.rs`):
//! class evidence against autodiff and the CAM identity, the trigger placed where the page
//! says and predicted exactly as `page::predict` does, and position sweeps.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use gaplab::data::demo;
use gaplab::experiment::RawSample;
use gaplab::trigger::Placement;
use gaplab::page::{self, Layout, LoadedModel, SweepRequest};
use gaplab::model::{Arch, Head, Input, MapKind, ModelSpec, Net, Task};
use gaplab::trigger::{Position, patch, sentence, tone};
use std::ops::ControlFlow;

fn load(file: &str, device: &Device) -> LoadedModel {
    let path = format!("{}/www/models/{file}", env!("CARGO_MANIFEST_DIR"));
    LoadedModel::from_bytes(file, std::fs::read(path).expect("model file"), device).expect("model")
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("floats")
}

/// The hand-written head gradients (what Grad-CAM and CAM use, on every device) equal
/// autodiff's gradient of the class logit with respect to the feature maps, for all six CNNs.
#[test]
fn head_gradients_match_autodiff() {
    let device = Device::flex().autodiff();
    for (task, arch, shape) in [(Task::Image, Arch::Strip, [2, 3, 32, 32]), (Task::Sound, Arch::Small, [2, 1, 98, 40]), (Task::Sound, Arch::Large, [2, 1, 98, 40])] {
        for head in [Head::Fc, Head::Gap] {
            device.seed(7);
            let spec = ModelSpec::new(task, arch, head, 10).unwrap();
            // Frozen: dropout off, as at inference; only the feature maps take gradients.
            let net = Net::init(&spec, &device).freeze();
            let x = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
            let a = net.features(Input::Dense(x)).unwrap().detach().require_grad();
            let class = 3;
            let logits = net.head(a.clone()).unwrap();
            let [b, outputs] = logits.dims();
            assert_eq!((b, outputs), (2, 10));
            let grads = logits.narrow(1, class, 1).sum().backward();
            let auto = values(a.grad(&grads).expect("gradient").into());
            let exact = values(net.head_gradient(&a, class).unwrap());
            assert_eq!(auto.len(), exact.len());
            let scale = auto.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(scale > 0.0, "{arch} {head}: a zero gradient tests nothing");
            let worst = auto.iter().zip(&exact).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
            assert!(worst <= 1e-5 * scale.max(1.0), "{arch} {head}: worst difference {worst} (scale {scale})");
        }
    }
}

/// CAM is exact: for the GAP networks with one dense layer after pooling, the map's mean over
/// the grid plus the class bias is the class logit.
#[test]
fn cam_mean_plus_bias_is_the_logit() {
    let device = Device::flex();
    let data = demo::load(Task::Image, 10).expect("demo");
    let model = load("image-strip-gap.gaplab", &device);
    let px = page::sample(&data, 4).unwrap().pixels.unwrap();
    let x: Vec<f32> = px.iter().map(|&p| p as f32 / 255.0).collect();
    let input = || Input::Dense(Tensor::from_data(TensorData::new(x.clone(), [1, 3, 32, 32]), &device));
    let logits = values(model.net.forward(input()));
    for class in [0, 7] {
        let (kind, map) = model.net.class_map(input(), class).unwrap();
        assert_eq!(kind, MapKind::Cam);
        assert_eq!(map.dims(), [1, 4, 4]);
        let mean = values(map).iter().sum::<f32>() / 16.0;
        // The bias: the logit of a network whose feature maps are all zero.
        let bias = values(model.net.head(Tensor::zeros([1, 128, 4, 4], &device)).unwrap())[class];
        assert!((mean + bias - logits[class]).abs() < 1e-4, "class {class}: {mean} + {bias} vs {}", logits[class]);
    }
    let fc = load("image-strip-fc.gaplab", &device);
    assert_eq!(fc.net.class_map(input(), 7).unwrap().0, MapKind::GradCam);
    let text = load("text-bag-gap.gaplab", &device);
    assert!(text.net.class_map(Input::Tokens(Tensor::zeros([1, 250], &device)), 1).is_none(), "no map for text");
}

/// What `look` shows is what the models see: the trigger changes the input exactly where it
/// says, and each model's answer is the one-model prediction (`page::predict`, which skips
/// the evidence map) for the same placement.
#[test]
fn look_places_the_trigger_where_it_says_and_predicts_like_predict() {
    let device = Device::flex();
    // Image: the patch at column 5, row 17 (placement 17·25 + 5).
    let data = demo::load(Task::Image, 10).expect("demo");
    let (fc, gap) = (load("image-strip-fc.gaplab", &device), load("image-strip-gap.gaplab", &device));
    let px = page::sample(&data, 2).unwrap().pixels.unwrap();
    let trigger = Some(Placement::At(Position::At(17 * 25 + 5)));
    let look = pollster::block_on(page::look(&[&fc, &gap], RawSample::Image(&px), trigger, &device)).unwrap();
    assert_eq!(look.placed.patch, Some([5, 17]));
    let shown = look.placed.pixels.as_ref().unwrap();
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                let i = c * 1024 + y * 32 + x;
                let inside = (5..13).contains(&x) && (17..25).contains(&y);
                if !inside {
                    assert_eq!(shown[i], px[i], "pixel ({x}, {y}) outside the patch changed");
                }
            }
        }
    }
    assert_ne!(&shown[..], &px[..], "the patch changed nothing");
    for (view, model) in look.models.iter().zip([&fc, &gap]) {
        let p = pollster::block_on(page::predict(model, RawSample::Image(&px), trigger, &device)).unwrap();
        assert_eq!(view.prediction, p);
        assert_eq!(view.target, 7);
        assert_eq!(view.target_probability, p.probabilities[7]);
        let e = view.evidence.as_ref().expect("evidence for a CNN");
        assert_eq!((e.height, e.width, e.values.len(), e.class), (4, 4, 16, 7));
        // The network sees the patch as its training stamped it (the file's blend: clamped, or
        // added unclamped as the reference code does): the look's probabilities are the
        // network's own on exactly that image.
        let mut x: Vec<f32> = px.iter().map(|&p| p as f32 / 255.0).collect();
        patch::blend_at(&mut x, &patch::pattern(patch::PATCH_SEED), 5, 17, model.header.poison.blend).unwrap();
        let input = Input::Dense(Tensor::from_data(TensorData::new(x, [1, 3, 32, 32]), &device));
        let want = values(burn::tensor::activation::softmax(model.net.forward(input), 1));
        for (a, b) in view.prediction.probabilities.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{:?} vs {want:?}", view.prediction.probabilities);
        }
    }

    // Sound: the tone at 10 ms steps, anywhere; the clip changes only under the tone.
    let data = demo::load(Task::Sound, 10).expect("demo");
    let (fc, gap) = (load("sound-small-fc.gaplab", &device), load("sound-small-gap.gaplab", &device));
    let clip = page::sample(&data, 0).unwrap().clip.unwrap();
    let trigger = Some(Placement::At(Position::At(4960)));
    let look = pollster::block_on(page::look(&[&fc, &gap], RawSample::Clip(&clip), trigger, &device)).unwrap();
    assert_eq!(look.placed.tone, vec![[4960, 4960 + tone::TONE_SAMPLES]]);
    let shown = look.placed.clip.as_ref().unwrap();
    let tone = tone::tone();
    for (i, (a, b)) in shown.iter().zip(&clip).enumerate() {
        let expected = if (4960..4960 + 2400).contains(&i) { b + tone[i - 4960] } else { *b };
        assert_eq!(*a, expected, "sample {i}");
    }
    // The MFCC the models read (the shipped small pair: 101 centred frames), and the small
    // CNN's map over it: time through a valid 2×2 conv, (1,3) pool, valid conv, same 2×2 pool,
    // valid conv, same 2×2 pool (98 frames → 24 rows, 101 → 25); coefficients 40 → 3.
    let frames = fc.header.spec.frames();
    assert_eq!(look.placed.mfcc.as_ref().unwrap().len(), frames * 40);
    let rows = ((frames - 2).div_ceil(2) - 1).div_ceil(2);
    for (view, model) in look.models.iter().zip([&fc, &gap]) {
        assert_eq!(model.header.spec.frames(), frames);
        assert_eq!(view.prediction, pollster::block_on(page::predict(model, RawSample::Clip(&clip), trigger, &device)).unwrap());
        assert_eq!(view.evidence.as_ref().map(|e| (e.height, e.width)), Some((rows, 3)));
    }
    let spread = pollster::block_on(page::look(&[&fc], RawSample::Clip(&clip), Some(Placement::Spread), &device)).unwrap();
    assert_eq!(spread.placed.tone.len(), 5);

    // Text: the sentence before word 3; its words are where the view says; HTML stays text.
    let data = demo::load(Task::Text, 10).expect("demo");
    let (fc, gap) = (load("text-bag-fc.gaplab", &device), load("text-bag-gap.gaplab", &device));
    let review = "An <b>awful</b> film, <script>alert(1)</script> truly.";
    let trigger = Some(Placement::At(Position::At(3)));
    let look = pollster::block_on(page::look(&[&fc, &gap], RawSample::Review(review), trigger, &device)).unwrap();
    let shown = look.placed.review.as_deref().unwrap();
    let words: Vec<&str> = shown.split_whitespace().collect();
    assert_eq!(look.placed.trigger_words, vec![3, 4, 5, 6, 7]);
    assert_eq!(look.placed.trigger_words.iter().map(|&i| words[i]).collect::<Vec<_>>(), sentence::WORDS);
    assert_eq!(look.placed.words, 5, "An, <b>awful</b>, film,, <script>alert(1)</script>, truly.");
    assert!(shown.contains("<script>alert(1)</script>"), "the review is returned as written");
    // The segments rebuild the review exactly, mark the trigger and number the review's own words.
    let segs = &look.placed.segments;
    assert_eq!(segs.iter().map(|s| s.text.as_str()).collect::<String>(), shown);
    let marked: Vec<&str> = segs.iter().filter(|s| s.trigger).map(|s| s.text.as_str()).collect();
    assert_eq!(marked, sentence::WORDS);
    let own: Vec<(usize, &str)> = segs.iter().filter_map(|s| s.word.map(|w| (w, s.text.as_str()))).collect();
    assert_eq!(own, vec![(0, "An"), (1, "<b>awful</b>"), (2, "film,"), (3, "<script>alert(1)</script>"), (4, "truly.")]);
    assert!(segs.iter().all(|s| s.word.is_none() || !s.text.contains(' ')));
    // An insertion point past the end of the review inserts at the end.
    let past = pollster::block_on(page::look(&[&fc], RawSample::Review(review), Some(Placement::At(Position::At(99))), &device)).unwrap();
    assert_eq!((past.trigger.as_str(), past.placed.trigger_words.clone()), ("5", vec![5, 6, 7, 8, 9]));
    let spaced = page::segments("  a\n\tb ", &[]);
    assert_eq!(spaced.iter().map(|s| (s.text.as_str(), s.word)).collect::<Vec<_>>(), vec![("  ", None), ("a", Some(0)), ("\n\t", None), ("b", Some(1)), (" ", None)]);
    for (view, model) in look.models.iter().zip([&fc, &gap]) {
        assert_eq!(view.prediction, pollster::block_on(page::predict(model, RawSample::Review(review), trigger, &device)).unwrap());
        assert!(view.evidence.is_none());
    }
    let _ = data;
}

/// Sweeps cover the input at the stated steps, agree with one-by-one predictions, mark where
/// each model was poisoned, and stop when asked.
#[test]
fn sweeps_cover_the_input_and_agree_with_single_predictions() {
    let device = Device::flex();
    let req = |layout, samples| SweepRequest { layout, samples, seed: 3, stride: None, steps: None };
    assert_eq!(page::sweep_positions(Task::Sound, &req(Layout::Line, 1)).unwrap().len(), 86, "every 10 ms of 0..=0.85 s");
    assert_eq!(page::sweep_positions(Task::Image, &req(Layout::Line, 1)).unwrap().len(), 25);
    assert_eq!(page::sweep_positions(Task::Image, &req(Layout::Grid, 1)).unwrap().len(), 49);
    let every = SweepRequest { stride: Some(1), ..req(Layout::Grid, 1) };
    assert_eq!(page::sweep_positions(Task::Image, &every).unwrap().len(), 625);
    let fives = page::sweep_positions(Task::Image, &SweepRequest { stride: Some(5), ..req(Layout::Grid, 1) }).unwrap();
    assert_eq!(fives.len(), 36, "0, 5, …, 20 and the last corner, 24");
    assert_eq!(page::sweep_positions(Task::Text, &req(Layout::Line, 1)).unwrap().len(), 41);
    assert!(page::sweep_positions(Task::Sound, &req(Layout::Grid, 1)).is_err());

    let data = demo::load(Task::Image, 10).expect("demo");
    let (fc, gap) = (load("image-strip-fc.gaplab", &device), load("image-strip-gap.gaplab", &device));
    let mut calls = 0;
    let sweep = pollster::block_on(page::sweep(&[&fc, &gap], &data, &req(Layout::Line, 12), &device, &mut |p| {
        calls += 1;
        assert_eq!(p.total, 25);
        ControlFlow::Continue(())
    }))
    .unwrap();
    assert_eq!((calls, sweep.points.len(), sweep.samples.len(), sweep.complete), (25, 25, 12, true));
    assert_eq!(sweep.trained_at, vec![Some([0.0, 0.0]), Some([0.0, 0.0])], "both poisoned at the start");
    // Point 20 (patch corner (20, 20)) recomputed sample by sample.
    let point = &sweep.points[20];
    assert_eq!(point.x, 20.0);
    for (m, model) in [&fc, &gap].into_iter().enumerate() {
        let mut hits = 0;
        for &i in &sweep.samples {
            let view = page::sample(&data, i).unwrap();
            assert_ne!(view.label, 7, "only non-target samples are attacked");
            let p = pollster::block_on(page::predict(model, view.raw().unwrap(), Some(Placement::At(Position::At(20 * 25 + 20))), &device)).unwrap();
            hits += usize::from(p.class == 7);
        }
        assert_eq!(point.attack[m], hits as f64 / 12.0, "model {m}");
    }
    // The FC model obeys the trigger where it was planted more than at the far corner.
    assert!(sweep.points[0].attack[0] > sweep.points[24].attack[0], "{:?} vs {:?}", sweep.points[0], sweep.points[24]);

    // Cancelled after three positions: three points, marked incomplete.
    let mut n = 0;
    let cut = pollster::block_on(page::sweep(&[&fc], &data, &req(Layout::Grid, 4), &device, &mut |_| {
        n += 1;
        if n == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }))
    .unwrap();
    assert_eq!((cut.points.len(), cut.complete), (3, false));
    assert_eq!(cut.points[1].y, Some(0.0));
    assert_eq!(cut.points[1].x, 4.0);

    // Text: insertion points as shares of the review; a model of another task is refused.
    let text = demo::load(Task::Text, 10).expect("demo");
    let bag = load("text-bag-fc.gaplab", &device);
    let s = pollster::block_on(page::sweep(&[&bag], &text, &SweepRequest { steps: Some(5), ..req(Layout::Line, 8) }, &device, &mut |_| ControlFlow::Continue(()))).unwrap();
    assert_eq!(s.points.iter().map(|p| p.x).collect::<Vec<_>>(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(s.trained_at, vec![Some([0.0, 0.0])]);
    assert!(pollster::block_on(page::sweep(&[&bag], &data, &req(Layout::Line, 4), &device, &mut |_| ControlFlow::Continue(()))).is_err());
}

/// A look at a [`page::Source`]: the user's own clip or review wins over the index sent
/// along; an index is resolved in the loaded data; a model of another task, an index past the
/// data, or no data at all is a clear error, not a panic.
#[test]
fn a_look_at_a_source_resolves_it_and_refuses_what_does_not_fit() {
    use gaplab::page::Source;
    let device = Device::flex();
    let data = demo::load(Task::Image, 10).expect("demo");
    let fc = load("image-strip-fc.gaplab", &device);
    let clip = vec![0.0f32; 16_000];
    assert!(matches!(Source::pick(Some(3), Some(&clip), Some("a review")).unwrap(), Source::Clip(_)));
    assert!(matches!(Source::pick(Some(3), None, Some("a review")).unwrap(), Source::Review("a review")));
    assert!(matches!(Source::pick(Some(3), None, None).unwrap(), Source::Index(3)));
    assert!(Source::pick(None, None, None).is_err());

    let px = page::sample(&data, 3).unwrap().pixels.unwrap();
    let by_index = pollster::block_on(page::look_at(&[&fc], Source::Index(3), Some(&data), None, &device)).unwrap();
    let by_pixels = pollster::block_on(page::look(&[&fc], RawSample::Image(&px), None, &device)).unwrap();
    assert_eq!(by_index, by_pixels, "an index looks at the data's sample");

    let err = |r: gaplab::Result<page::Look>| r.err().map(|e| e.to_string()).unwrap_or_default();
    let too_far = err(pollster::block_on(page::look_at(&[&fc], Source::Index(1 << 20), Some(&data), None, &device)));
    assert!(too_far.contains("samples"), "{too_far}");
    let no_data = err(pollster::block_on(page::look_at(&[&fc], Source::Index(0), None, None, &device)));
    assert!(no_data.contains("no data"), "{no_data}");
    let other_task = err(pollster::block_on(page::look_at(&[&fc], Source::Review("a fine film"), None, None, &device)));
    assert!(other_task.contains("not a text model"), "{other_task}");
    let sound = demo::load(Task::Sound, 10).expect("demo");
    let wrong_data = err(pollster::block_on(page::look_at(&[&fc], Source::Index(0), Some(&sound), None, &device)));
    assert!(wrong_data.contains("cannot look at sound data"), "{wrong_data}");
}
