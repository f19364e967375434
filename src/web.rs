//! The `#[wasm_bindgen]` surface that the page's Web Worker (`www/worker.js`) calls. Thin on
//! purpose: it keeps the worker's state (device, datasets, models) and converts values; what
//! it does is in [`crate::page`].
//!
//! State lives in one thread-local, borrowed only between awaits: the async calls clone what
//! they need (`Rc`) before they await, so a prediction can run while a model trains.

use crate::error::GapError;
use crate::experiment::Evaluation;
use crate::data::TaskData;
use crate::page::{self, LoadedModel, SweepProgress, SweepRequest, TrainForm};
use crate::model::Task;
use crate::train::Progress;
use burn::prelude::*;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[derive(Default)]
struct State {
    /// The device in use and its name (`webgpu` or `flex`).
    device: Option<(Device, &'static str)>,
    /// The WebGPU device once acquired: wgpu's runtime can be initialised only once.
    webgpu: Option<Device>,
    data: BTreeMap<Task, Rc<TaskData>>,
    models: BTreeMap<u32, Rc<LoadedModel>>,
    next_id: u32,
    training: Job,
    sweep: Job,
}

/// A long-running request of which one at a time may run, stoppable between steps.
#[derive(Default)]
struct Job {
    running: bool,
    cancel: bool,
}

/// Starts the job `pick` selects, or says that one is already running (`what`).
fn start_job(pick: fn(&mut State) -> &mut Job, what: &str) -> Result<(), JsError> {
    with(|s| {
        let job = pick(s);
        if job.running {
            return Err(JsError::new(&format!("{what} is already running")));
        }
        *job = Job { running: true, cancel: false };
        Ok(())
    })
}

/// Whether the job has been asked to stop: what a progress callback returns.
fn keep_going(pick: fn(&mut State) -> &mut Job) -> ControlFlow<()> {
    if with(|s| pick(s).cancel) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn js_err(e: GapError) -> JsError {
    JsError::new(&e.to_string())
}

/// A result as a JS value, through a JSON string: serde_wasm_bindgen builds objects value by
/// value across the wasm boundary, which measured ~0.5 ms a value here (1.5 s for a review's
/// segments); serde_json plus `JSON.parse` is one crossing.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let json = serde_json::to_string(value).map_err(|e| JsError::new(&format!("converting the result for the page: {e}")))?;
    js_sys::JSON::parse(&json).map_err(|_| JsError::new("the page could not read a result"))
}

/// Adds the big numeric arrays of a sample to its JS object as typed arrays: one copy, and a
/// cheap structured clone to the page (through JSON a clip would be 16,000 decimal numbers).
fn attach_arrays(object: &JsValue, clip: Option<&[f32]>, mfcc: Option<&[f32]>, pixels: Option<&[u8]>) -> Result<(), JsError> {
    let set = |name: &str, value: JsValue| {
        js_sys::Reflect::set(object, &JsValue::from_str(name), &value)
            .map(|_| ())
            .map_err(|_| JsError::new(&format!("could not set {name} on the result")))
    };
    if let Some(c) = clip {
        set("clip", js_sys::Float32Array::from(c).into())?;
    }
    if let Some(m) = mfcc {
        set("mfcc", js_sys::Float32Array::from(m).into())?;
    }
    if let Some(p) = pixels {
        set("pixels", js_sys::Uint8Array::from(p).into())?;
    }
    Ok(())
}

fn parse_task(task: &str) -> Result<Task, JsError> {
    Task::parse(task).map_err(js_err)
}

fn device() -> Result<Device, JsError> {
    with(|s| s.device.as_ref().map(|(d, _)| d.clone())).ok_or_else(|| JsError::new("no device yet: call use_backend first"))
}

fn model(id: u32) -> Result<Rc<LoadedModel>, JsError> {
    with(|s| s.models.get(&id).cloned()).ok_or_else(|| JsError::new(&format!("no model {id} is loaded")))
}

fn data(task: Task) -> Result<Rc<TaskData>, JsError> {
    with(|s| s.data.get(&task).cloned()).ok_or_else(|| JsError::new(&format!("no {task} data is loaded")))
}

/// Panics (there should be none) reach the console as errors with their message, not as a
/// bare "unreachable" trap.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&format!("gaplab panicked: {info}").into())));
    #[cfg(feature = "threads")]
    crate::kernels::split_only_big_products();
}

/// What [`use_backend`] settled on.
#[derive(Serialize)]
struct BackendChoice {
    backend: &'static str,
    /// Why WebGPU was not used, when it was asked for.
    fallback: Option<String>,
}

/// Selects the device: `webgpu` (falling back to Flex when the browser has no usable WebGPU)
/// or `flex`. Loaded models move to the new device (reloaded from their file bytes). The
/// WebGPU build has no Flex: there, a WebGPU that cannot start, or `flex`, is an error that
/// says so, and the page moves to a Flex build (`www/app.js`, `startBackend`).
#[wasm_bindgen]
pub async fn use_backend(preferred: String) -> Result<JsValue, JsError> {
    let mut fallback = None;
    let chosen = if preferred == "webgpu" {
        match with(|s| s.webgpu.clone()) {
            Some(d) => Some(d),
            None => match webgpu_device().await {
                Ok(d) => {
                    with(|s| s.webgpu = Some(d.clone()));
                    Some(d)
                }
                Err(e) => {
                    fallback = Some(format!("WebGPU is not available here ({e}); using Flex on the CPU"));
                    None
                }
            },
        }
    } else if preferred == "flex" {
        None
    } else {
        return Err(JsError::new(&format!("unknown backend '{preferred}' (expected webgpu or flex)")));
    };
    let (device, name) = match chosen {
        Some(d) => (d, "webgpu"),
        None => (cpu_device(fallback.as_deref())?, "flex"),
    };
    let models: Vec<(u32, Rc<LoadedModel>)> = with(|s| s.models.iter().map(|(k, v)| (*k, v.clone())).collect());
    let mut moved = BTreeMap::new();
    for (id, m) in models {
        moved.insert(id, Rc::new(m.moved_to(&device).map_err(js_err)?));
    }
    with(|s| {
        s.models = moved;
        s.device = Some((device, name));
    });
    to_js(&BackendChoice { backend: name, fallback })
}

/// Flex, burn's CPU backend.
#[cfg(flex)]
fn cpu_device(_fallback: Option<&str>) -> Result<Device, JsError> {
    Ok(Device::flex())
}

/// The WebGPU build has no Flex: the page loads a Flex build for the CPU. The error begins
/// with [`NO_FLEX`], which the page recognises, and says why WebGPU was not used when it was asked.
#[cfg(not(flex))]
fn cpu_device(fallback: Option<&str>) -> Result<Device, JsError> {
    Err(JsError::new(&format!("{NO_FLEX}{}", fallback.map(|f| format!(": {f}")).unwrap_or_default())))
}

/// How [`use_backend`]'s error in a build without Flex begins.
#[cfg(not(flex))]
const NO_FLEX: &str = "this module has no Flex";

/// The browser's WebGPU device, in the build that has it.
#[cfg(feature = "webgpu")]
async fn webgpu_device() -> Result<Device, String> {
    Device::wgpu_options().init_async().await.map_err(|e| browser_error(&e.to_string()))
}

/// A browser's error as wgpu words it, for a note on the page: its first line, without the
/// `JsValue(…)` wrapper (the rest is the JavaScript stack).
#[cfg(feature = "webgpu")]
fn browser_error(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().replace("JsValue(", "");
    line.trim_end_matches(')').trim().to_string()
}

/// The Flex-only build: WebGPU lives in the other module (`pkg/gaplab_webgpu.js`).
#[cfg(not(feature = "webgpu"))]
async fn webgpu_device() -> Result<Device, String> {
    Err("this module was built without WebGPU".into())
}

/// Whether this module can use WebGPU (`webgpu` feature): the page loads the Flex-only module
/// unless WebGPU is wanted and the browser has an adapter.
#[wasm_bindgen]
pub fn has_webgpu() -> bool {
    cfg!(feature = "webgpu")
}

/// The device in use: `webgpu`, `flex`, or `none` before [`use_backend`].
#[wasm_bindgen]
pub fn backend() -> String {
    with(|s| s.device.as_ref().map_or("none", |(_, n)| n)).to_string()
}

/// Every fact about the lab the page needs (tasks, their networks and trigger placements,
/// trigger geometry, the upload limit, how a model file begins): see [`page::LabInfo`].
#[wasm_bindgen]
pub fn lab_info() -> Result<JsValue, JsError> {
    to_js(&page::info())
}

/// What a model file says about itself, from its header (no weights decoded).
#[wasm_bindgen]
pub fn model_info(name: &str, bytes: &[u8]) -> Result<JsValue, JsError> {
    to_js(&page::ModelInfo::of_file(name, bytes).map_err(js_err)?)
}

/// Parses a dataset archive (`.tar.gz`) for `task` and makes it the task's data.
#[wasm_bindgen]
pub fn load_data(task: &str, name: &str, bytes: &[u8], classes: usize) -> Result<JsValue, JsError> {
    let task = parse_task(task)?;
    let data = page::load_data(task, name, bytes, classes).map_err(js_err)?;
    let summary = page::summarize(&data, name);
    with(|s| s.data.insert(task, Rc::new(data)));
    to_js(&summary)
}

/// Sample `index` of `task`'s data, for display (waveform, review text, pixels).
#[wasm_bindgen]
pub fn sample(task: &str, index: usize) -> Result<JsValue, JsError> {
    let data = data(parse_task(task)?)?;
    let view = page::sample(&data, index).map_err(js_err)?;
    let object = to_js(&view)?;
    attach_arrays(&object, view.clip.as_deref(), None, view.pixels.as_deref())?;
    Ok(object)
}

#[derive(Serialize)]
struct Loaded {
    id: u32,
    info: page::ModelInfo,
}

fn register(m: LoadedModel) -> Loaded {
    let info = m.info();
    let id = with(|s| {
        s.next_id += 1;
        s.models.insert(s.next_id, Rc::new(m));
        s.next_id
    });
    Loaded { id, info }
}

/// Loads a model file (from the CLI or the page) onto the current device.
#[wasm_bindgen]
pub fn load_model(name: &str, bytes: Vec<u8>) -> Result<JsValue, JsError> {
    let m = LoadedModel::from_bytes(name, bytes, &device()?).map_err(js_err)?;
    to_js(&register(m))
}

/// Forgets a model.
#[wasm_bindgen]
pub fn unload_model(id: u32) {
    with(|s| s.models.remove(&id));
}

/// The model's file, as the CLI writes it (for download).
#[wasm_bindgen]
pub fn model_bytes(id: u32) -> Result<Vec<u8>, JsError> {
    Ok(model(id)?.bytes.clone())
}

#[derive(Serialize)]
struct TrainResult {
    id: u32,
    info: page::ModelInfo,
    evaluation: Evaluation,
    /// The test positions of `evaluation.attack`, as the page names them.
    positions: Vec<String>,
    /// Why the model's attack figures are not a backdoor, if it did not learn.
    failure: Option<String>,
    /// Fine-tuned: the start (a clean base) on the same test sets, before training.
    start_evaluation: Option<Evaluation>,
}

/// Trains one model (`form`: task, arch, head, poison_at, poisoned, epochs, patience,
/// batch_size, seed) on the task's loaded data, calling `on_progress` with every step and
/// epoch (a serialised [`Progress`]). One training at a time; [`cancel`] stops it at the next
/// step, and the result is then `{cancelled: true}`. `start`: the id of a loaded model to
/// start from (a clean base, fine-tuned) instead of random weights.
#[wasm_bindgen]
pub async fn train(form: JsValue, on_progress: js_sys::Function, start: Option<u32>) -> Result<JsValue, JsError> {
    let form: TrainForm =
        serde_wasm_bindgen::from_value(form).map_err(|e| JsError::new(&format!("training settings: {e}")))?;
    let data = data(form.task)?;
    let device = device()?;
    let start = start.map(model).transpose()?;
    start_job(|s| &mut s.training, "a training")?;
    let mut report = |event: Progress| {
        if let Ok(value) = to_js(&event) {
            let _ = on_progress.call1(&JsValue::NULL, &value);
        }
        keep_going(|s| &mut s.training)
    };
    let outcome = page::train(&data, &form, start.as_deref(), &device, &mut report).await;
    with(|s| s.training.running = false);
    let (m, evaluation, start_evaluation) = match outcome {
        Err(GapError::Cancelled) => return to_js(&serde_json::json!({ "cancelled": true })),
        other => other.map_err(js_err)?,
    };
    let failure = evaluation.failure(&m.header.classes);
    let Loaded { id, info } = register(m);
    let positions = evaluation.attack.iter().map(|a| a.placement.label()).collect();
    to_js(&TrainResult { id, info, evaluation, positions, failure, start_evaluation })
}

/// Asks the running training to stop at its next step.
#[wasm_bindgen]
pub fn cancel() {
    with(|s| s.training.cancel = true);
}

fn models(ids: &[u32]) -> Result<Vec<Rc<LoadedModel>>, JsError> {
    ids.iter().map(|&id| model(id)).collect()
}

/// The interactive view in one request: the sample (`index` of the task's data, or the user's
/// own `clip` or `review`) with the trigger at `trigger`, and every model's prediction,
/// target-class probability and class evidence. See [`page::look`]. Each model keeps the
/// feature maps of its last look and recomputes only what the new input changes; `redo` asks
/// for more: `"all"` every cell, `"centre"` the centre of the maps as well (the page's warm-up:
/// a repeat of the same look would otherwise compute nothing), `""` only what changed.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub async fn look(
    task: String,
    index: Option<usize>,
    clip: Option<Vec<f32>>,
    review: Option<String>,
    trigger: String,
    ids: Vec<u32>,
    redo: String,
) -> Result<JsValue, JsError> {
    let task = parse_task(&task)?;
    let models = models(&ids)?;
    match redo.as_str() {
        "" => {}
        "all" => models.iter().for_each(|m| m.forget_last_look()),
        "centre" => models.iter().for_each(|m| m.forget_centre_of_last_look()),
        other => return Err(JsError::new(&format!("look: redo {other:?} is none of \"\", \"all\", \"centre\""))),
    }
    let trigger = page::parse_trigger(&trigger).map_err(js_err)?;
    let source = page::Source::pick(index, clip.as_deref(), review.as_deref()).map_err(js_err)?;
    let data = match source {
        page::Source::Index(_) => Some(data(task)?),
        _ => None,
    };
    let refs: Vec<&LoadedModel> = models.iter().map(|m| m.as_ref()).collect();
    let look = page::look_at(&refs, source, data.as_deref(), trigger, &device()?).await.map_err(js_err)?;
    let object = to_js(&look)?;
    let placed = js_sys::Reflect::get(&object, &JsValue::from_str("placed")).map_err(|_| JsError::new("no placed sample"))?;
    let p = &look.placed;
    attach_arrays(&placed, p.clip.as_deref(), p.mfcc.as_deref(), p.pixels.as_deref())?;
    Ok(object)
}

/// Sweeps the trigger across the input (`request`: layout line|grid, samples, seed, stride,
/// steps) for the given models over the task's held-out data, calling `on_progress` with
/// `{done, total}` after each position. One sweep at a time; [`cancel_sweep`] stops it and
/// the points so far come back.
#[wasm_bindgen]
pub async fn sweep(ids: Vec<u32>, request: JsValue, on_progress: js_sys::Function) -> Result<JsValue, JsError> {
    let request: SweepRequest =
        serde_wasm_bindgen::from_value(request).map_err(|e| JsError::new(&format!("sweep settings: {e}")))?;
    let models = models(&ids)?;
    let task = models.first().ok_or_else(|| JsError::new("a sweep needs a model"))?.header.spec.task;
    let data = data(task)?;
    let device = device()?;
    start_job(|s| &mut s.sweep, "a sweep")?;
    let mut report = |p: SweepProgress| {
        if let Ok(value) = to_js(&p) {
            let _ = on_progress.call1(&JsValue::NULL, &value);
        }
        keep_going(|s| &mut s.sweep)
    };
    let refs: Vec<&LoadedModel> = models.iter().map(|m| m.as_ref()).collect();
    let outcome = page::sweep(&refs, &data, &request, &device, &mut report).await;
    with(|s| s.sweep.running = false);
    to_js(&outcome.map_err(js_err)?)
}

/// Asks the running sweep to stop after its current position.
#[wasm_bindgen]
pub fn cancel_sweep() {
    with(|s| s.sweep.cancel = true);
}

/// The threaded build's pool: `initThreadPool(n)` starts `n` web workers sharing the module's
/// memory (wasm-bindgen-rayon); the page calls it once, before anything else.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// How many threads the kernels split their work over (1 in the single-threaded builds).
#[wasm_bindgen]
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "threads"))]
    1
}
