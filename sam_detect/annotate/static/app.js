// Copyright 2026 The sam_detect_ros Authors
// SPDX-License-Identifier: MIT
// The annotation page: plain JavaScript and one canvas. The server sends small PNG masks
// (bounding-box crops); they are tinted here and hit-tested from their alpha.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
const COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
                 "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324"];

const state = {
  live: false, names: [], index: 0, view: null, photo: null,
  masks: [],              // per instance: {bbox, alpha (Uint8Array), tinted (canvas)}
  selection: null,        // {kind: "instance", id} | {kind: "prompt", prompt, candidate}
  prompt: null,           // last prompt response: {prompt, candidates: [...]}
  candidateMasks: [],
  points: [], box: null,  // prompts being built
  lastClick: null, lastSaved: null, drag: null,
  pending: null,          // the prompt request in flight: a save waits for its mask
};

function say(text, error = false) {
  $("message").textContent = text;
  $("message").className = error ? "error" : "";
}

function showTiming(what, started, serverMs) {
  const total = performance.now() - started;
  $("timing").textContent = `${what} ${Math.round(total)} ms` +
    (serverMs !== undefined ? ` (server ${Math.round(serverMs)} ms)` : "");
}

async function api(method, path, body) {
  const options = {method, headers: {}};
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return data;
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("cannot load " + src.slice(0, 40)));
    img.src = src;
  });
}

// Decode a base64 1-channel PNG crop into alpha bytes and a tinted canvas.
async function decodeMask(png, bbox, colour) {
  const img = await loadImage("data:image/png;base64," + png);
  const work = document.createElement("canvas");
  work.width = Math.max(1, bbox[2] - bbox[0]);
  work.height = Math.max(1, bbox[3] - bbox[1]);
  const wctx = work.getContext("2d");
  wctx.drawImage(img, 0, 0);
  const data = wctx.getImageData(0, 0, work.width, work.height);
  const alpha = new Uint8Array(work.width * work.height);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
  for (let p = 0; p < alpha.length; p++) {
    const on = data.data[p * 4] > 127;
    alpha[p] = on ? 1 : 0;
    data.data[p * 4] = r; data.data[p * 4 + 1] = g; data.data[p * 4 + 2] = b;
    data.data[p * 4 + 3] = on ? 110 : 0;
  }
  wctx.putImageData(data, 0, 0);
  return {bbox, alpha, tinted: work, width: work.width};
}

function inside(mask, x, y) {
  const [x0, y0, x1, y1] = mask.bbox;
  if (x < x0 || y < y0 || x >= x1 || y >= y1) return false;
  return mask.alpha[(Math.floor(y) - y0) * mask.width + (Math.floor(x) - x0)] === 1;
}

function selected() {
  const sel = state.selection;
  if (!sel || !state.view) return null;
  if (sel.kind === "instance") return state.view.instances.find((i) => i.id === sel.id) || null;
  return state.prompt ? state.prompt.candidates[sel.candidate] || null : null;
}

function selectedMask() {
  const sel = state.selection;
  if (!sel) return null;
  if (sel.kind === "instance") {
    const k = state.view.instances.findIndex((i) => i.id === sel.id);
    return k >= 0 ? state.masks[k] : null;
  }
  return state.candidateMasks[sel.candidate] || null;
}

function target() {
  const sel = state.selection;
  if (!sel) return null;
  return sel.kind === "instance" ? {instance: sel.id}
    : {prompt: sel.prompt, candidate: sel.candidate};
}

// -- drawing ------------------------------------------------------------------------------------

function draw() {
  if (!state.photo) {
    ctx.fillStyle = "#222"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    return;
  }
  ctx.drawImage(state.photo, 0, 0);
  const chosen = selectedMask();
  state.masks.forEach((m) => { if (m !== chosen) ctx.drawImage(m.tinted, m.bbox[0], m.bbox[1]); });
  const font = Math.max(12, Math.round(canvas.width / 60));
  ctx.font = `${font}px sans-serif`;
  state.view.instances.forEach((inst) => {
    if (!inst.label) return;
    ctx.fillStyle = "#000a";
    const text = `${inst.label} ${Math.round(inst.confidence * 100)}%`;
    ctx.fillRect(inst.bbox[0], inst.bbox[1], ctx.measureText(text).width + 6, font + 4);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, inst.bbox[0] + 3, inst.bbox[1] + font);
  });
  (state.view.saved || []).forEach((s) => {
    ctx.strokeStyle = "#3cb44b"; ctx.lineWidth = Math.max(2, canvas.width / 400);
    ctx.strokeRect(s.bbox[0], s.bbox[1], s.bbox[2] - s.bbox[0], s.bbox[3] - s.bbox[1]);
  });
  if (chosen) {
    ctx.save();
    ctx.globalAlpha = 1;
    ctx.drawImage(chosen.tinted, chosen.bbox[0], chosen.bbox[1]);
    ctx.drawImage(chosen.tinted, chosen.bbox[0], chosen.bbox[1]);
    ctx.strokeStyle = "#ffd000"; ctx.lineWidth = Math.max(2, canvas.width / 300);
    const [x0, y0, x1, y1] = chosen.bbox;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.restore();
  }
  const r = Math.max(4, canvas.width / 150);
  state.points.forEach(([x, y, positive]) => {
    ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = positive ? "#00d000" : "#e00000"; ctx.fill();
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2; ctx.stroke();
  });
  const box = state.drag && state.drag.box ? state.drag.box : state.box;
  if (box) {
    ctx.setLineDash([6, 4]); ctx.strokeStyle = "#ffd000"; ctx.lineWidth = 2;
    ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
    ctx.setLineDash([]);
  }
}

function renderSuggestions() {
  const holder = $("suggestions");
  holder.replaceChildren();
  const item = selected();
  $("label").placeholder = item && item.label ? item.label : "name the selected object";
  if (!item) return;
  item.suggestions.forEach((s, k) => {
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("aria-label", s.label);
    button.title = `vote share ${s.share}, similarity ${s.similarity} (key ${k + 1})`;
    button.textContent = `${k + 1}  ${s.label}  ${Math.round(s.share * 100)}%  sim ${s.similarity}`;
    button.addEventListener("click", () => save(s.label));
    holder.appendChild(button);
  });
  if (!item.suggestions.length) {
    const p = document.createElement("p");
    p.textContent = "No suggestion yet: type a name.";
    holder.appendChild(p);
  }
}

function renderLabels(labels) {
  const list = $("labels");
  list.replaceChildren();
  Object.entries(labels).forEach(([label, count]) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${label} (${count})`;
    button.addEventListener("click", () => showGallery(label));
    li.appendChild(button);
    list.appendChild(li);
  });
}

// -- pictures -----------------------------------------------------------------------------------

async function show(index, view) {
  const started = performance.now();
  try {
    if (!view) view = await api("GET", `api/images/${index}`);
    const photo = await loadImage(`api/images/${index}/jpeg`);
    state.index = index; state.view = view; state.photo = photo;
    canvas.width = view.width; canvas.height = view.height;
    state.masks = await Promise.all(view.instances.map(
      (inst, k) => decodeMask(inst.png, inst.bbox, COLOURS[k % COLOURS.length])));
    clearPrompt();
    state.selection = null;
    $("position").textContent = `${index + 1} / ${view.count}: ${view.name}`;
    $("similar").disabled = true;
    renderSuggestions(); draw(); $("explain").replaceChildren();
    showTiming(view.cached ? "image (cached)" : `image (encoded in ${view.encode_ms} ms)`,
               started, view.server_ms);
    say(view.instances.length ? `${view.instances.length} objects found; click one.`
                              : "No object found: click one to make a mask.");
  } catch (error) { say(error.message, true); }
}

async function refreshView(view) {
  // The same picture with refreshed suggestions: keep the masks and the selection.
  state.view = view;
  renderSuggestions(); draw();
}

function clearPrompt() {
  state.points = []; state.box = null; state.prompt = null; state.candidateMasks = [];
}

async function runPrompt() {
  const started = performance.now();
  const body = {points: state.points.map(([x, y]) => [x, y]),
                labels: state.points.map(([, , p]) => (p ? 1 : 0))};
  if (state.box) body.box = state.box;
  try {
    const result = await api("POST", `api/images/${state.index}/prompt`, body);
    state.prompt = result;
    state.candidateMasks = await Promise.all(result.candidates.map(
      (c) => decodeMask(c.png, c.bbox, "#ffd000")));
    state.selection = {kind: "prompt", prompt: result.prompt, candidate: 0};
    renderSuggestions(); draw();
    showTiming("click→mask", started, result.server_ms);
    say(`A mask from ${result.masker}; Tab for other candidates.`);
    explain();
  } catch (error) { say(error.message, true); draw(); }
  state.pending = null;
}

function selectInstance(id) {
  clearPrompt();
  state.selection = {kind: "instance", id};
  renderSuggestions(); draw(); explain();
}

function canvasPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * canvas.width / rect.width,
          (event.clientY - rect.top) * canvas.height / rect.height];
}

canvas.addEventListener("contextmenu", (event) => event.preventDefault());
canvas.addEventListener("mousedown", (event) => {
  if (!state.view) return;
  state.drag = {start: canvasPoint(event), negative: event.shiftKey || event.button === 2};
});
canvas.addEventListener("mousemove", (event) => {
  if (!state.drag) return;
  const [x, y] = canvasPoint(event);
  const [sx, sy] = state.drag.start;
  if (Math.hypot(x - sx, y - sy) > Math.max(6, canvas.width / 100)) {
    state.drag.box = [Math.min(x, sx), Math.min(y, sy), Math.max(x, sx), Math.max(y, sy)];
    draw();
  }
});
canvas.addEventListener("mouseup", (event) => {
  if (!state.drag) return;
  const started = performance.now();
  const drag = state.drag;
  state.drag = null;
  canvas.focus();
  if (drag.box) {
    state.box = drag.box.map(Math.round);
    state.selection = null;
    state.pending = runPrompt();
    return;
  }
  const [x, y] = drag.start;
  state.lastClick = [x, y];
  const building = state.points.length > 0 || state.box !== null;
  if (!building && !drag.negative) {
    const hits = state.masks.map((m, k) => [m, k]).filter(([m]) => inside(m, x, y))
      .sort((a, b) => state.view.instances[a[1]].area - state.view.instances[b[1]].area);
    if (hits.length) {
      selectInstance(state.view.instances[hits[0][1]].id);
      showTiming("click→mask", started);
      return;
    }
  }
  state.points.push([Math.round(x), Math.round(y), !drag.negative]);
  state.selection = null;  // the new mask replaces the old selection
  draw();
  state.pending = runPrompt();
});

// -- teaching -----------------------------------------------------------------------------------

async function save(label) {
  if (state.pending) await state.pending;
  label = (label || $("label").value || "").trim();
  const chosen = target();
  if (!chosen) { say("Select an object first: click it.", true); return; }
  if (!label) {
    const item = selected();
    label = item && item.suggestions.length ? item.suggestions[0].label : "";
  }
  if (!label) { say("Type a label first.", true); $("label").focus(); return; }
  const started = performance.now();
  try {
    const view = await api("POST", `api/images/${state.index}/save`, {label, ...chosen});
    state.lastSaved = {label, ...chosen};
    $("similar").disabled = false;
    $("label").value = "";
    state.points = []; state.box = null;  // the next click starts afresh
    canvas.focus();  // so that the keys (Z, A/D, Tab, 1-9) work right after typing a name
    renderLabels(view.labels);
    await refreshView(view);
    showTiming("save→refreshed", started, view.server_ms);
    say(`Saved "${label}". Label all similar, or select the next object.`);
  } catch (error) { say(error.message, true); }
}

async function undo() {
  const started = performance.now();
  try {
    const result = await api("POST", "api/undo");
    renderLabels(result.labels);
    if (result.index === state.index) await refreshView(await api("GET", `api/images/${state.index}`));
    showTiming("undo", started);
    say(`Undone: ${result.removed} example(s) deleted from the store.`);
  } catch (error) { say(error.message, true); }
}

async function labelSimilar() {
  if (!state.lastSaved) return;
  const started = performance.now();
  try {
    const result = await api("POST", `api/images/${state.index}/similar`, state.lastSaved);
    renderLabels(result.labels);
    await refreshView(await api("GET", `api/images/${state.index}`));
    showTiming("label all similar", started);
    say(`Labelled ${result.taught} similar object(s) "${state.lastSaved.label}" ` +
        `(similarity ≥ ${result.threshold}).`);
  } catch (error) { say(error.message, true); }
}

async function explain() {
  const chosen = target();
  const holder = $("explain");
  holder.replaceChildren();
  if (!chosen) return;
  try {
    const result = await api("POST", `api/images/${state.index}/explain`, chosen);
    const p = document.createElement("p");
    p.textContent = result.neighbours.length || result.note
      ? `${result.label || "unknown"} (confidence ${result.confidence})` +
        (result.note ? `: ${result.note}` : "") +
        (result.neighbours.length ? "; nearest stored:" : "")
      : "Nothing stored yet.";
    holder.appendChild(p);
    result.neighbours.forEach((n) => holder.appendChild(exampleButton(n)));
  } catch (error) { say(error.message, true); }
}

function exampleButton(example) {
  const button = document.createElement("button");
  button.type = "button";
  const sim = example.similarity !== undefined ? ` ${example.similarity.toFixed(2)}` : "";
  button.setAttribute("aria-label", `example ${example.id}: ${example.label}${sim}`);
  if (example.thumbnail) {
    const img = document.createElement("img");
    img.src = example.thumbnail; img.alt = "";
    button.appendChild(img);
  }
  button.appendChild(document.createTextNode(`${example.label}${sim}`));
  button.addEventListener("click", () => showExample(example));
  return button;
}

async function showGallery(label) {
  try {
    const examples = await api("GET", `api/examples?label=${encodeURIComponent(label)}`);
    const holder = $("gallery");
    holder.replaceChildren();
    examples.forEach((e) => holder.appendChild(exampleButton(e)));
    $("detail").replaceChildren();
  } catch (error) { say(error.message, true); }
}

function showExample(example) {
  const holder = $("detail");
  holder.replaceChildren();
  const title = document.createElement("p");
  title.textContent = `#${example.id} "${example.label}" from ${example.source || "?"}`;
  holder.appendChild(title);
  if (example.thumbnail) {
    const img = document.createElement("img");
    img.src = example.thumbnail; img.alt = `stored example ${example.id}`;
    holder.appendChild(img);
  }
  const where = state.names.indexOf(example.source);
  if (where >= 0) {
    const open = document.createElement("button");
    open.type = "button"; open.textContent = "Open its image";
    open.addEventListener("click", () => show(where));
    holder.appendChild(open);
  }
  const del = document.createElement("button");
  del.type = "button"; del.textContent = "Delete example";
  del.addEventListener("click", async () => {
    try {
      const result = await api("DELETE", `api/examples/${encodeURIComponent(example.id)}`);
      renderLabels(result.labels); holder.replaceChildren();
      say(`Deleted example ${example.id}.`);
      showGallery(example.label);
    } catch (error) { say(error.message, true); }
  });
  holder.appendChild(del);
  const form = document.createElement("form");
  const input = document.createElement("input");
  input.setAttribute("aria-label", "New label"); input.value = example.label;
  const relabel = document.createElement("button");
  relabel.type = "submit"; relabel.textContent = "Relabel";
  form.append(input, relabel);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await api("POST", `api/examples/${encodeURIComponent(example.id)}/relabel`,
                               {label: input.value});
      renderLabels(result.labels);
      say(`Example ${example.id} is now "${input.value.trim()}".`);
      showGallery(input.value.trim());
    } catch (error) { say(error.message, true); }
  });
  holder.appendChild(form);
}

async function showHard() {
  try {
    const result = await api("GET", "api/hard");
    const list = $("hard-list");
    list.replaceChildren();
    result.items.forEach((item) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${item.name} #${item.instance}: ${item.reason}`;
      button.addEventListener("click", async () => {
        if (item.index !== state.index) await show(item.index);
        selectInstance(item.instance);
      });
      li.appendChild(button);
      list.appendChild(li);
    });
    say(`Hard examples among the ${result.encoded} of ${result.images} pictures seen so far.`);
  } catch (error) { say(error.message, true); }
}

async function cycle() {
  const sel = state.selection;
  if (sel && sel.kind === "prompt" && state.prompt) {
    if (state.prompt.more) {
      // The other candidates were made in the background after the first was shown.
      const started = performance.now();
      try {
        const all = await api("GET", `api/prompts/${sel.prompt}`);
        if (state.selection !== sel) return;
        state.prompt = all;
        state.candidateMasks = await Promise.all(all.candidates.map(
          (c) => decodeMask(c.png, c.bbox, "#ffd000")));
        showTiming("more masks", started);
      } catch (error) { say(error.message, true); return; }
    }
    sel.candidate = (sel.candidate + 1) % state.prompt.candidates.length;
    say(`Candidate mask ${sel.candidate + 1} of ${state.prompt.candidates.length}.`);
    renderSuggestions(); draw(); explain();
    return;
  }
  if (!state.view || !state.view.instances.length) return;
  let ids = state.view.instances.map((i) => i.id);
  if (state.lastClick) {
    const [x, y] = state.lastClick;
    const here = state.view.instances.filter((inst, k) => inside(state.masks[k], x, y));
    if (here.length > 1) ids = here.map((i) => i.id);
  }
  const at = sel && sel.kind === "instance" ? ids.indexOf(sel.id) : -1;
  selectInstance(ids[(at + 1) % ids.length]);
}

function move(step) {
  const count = state.names.length;
  const next = state.index + step;
  if (next >= 0 && next < count) show(next);
}

async function freeze() {
  const started = performance.now();
  try {
    const view = await api("POST", "api/freeze");
    state.names = (await api("GET", "api/state")).names;
    await show(view.index, view);
    showTiming("freeze", started, view.server_ms);
  } catch (error) { say(error.message, true); }
}

// -- wiring -------------------------------------------------------------------------------------

$("teach").addEventListener("submit", (event) => { event.preventDefault(); save(); });
$("prev").addEventListener("click", () => move(-1));
$("next").addEventListener("click", () => move(1));
$("undo").addEventListener("click", undo);
$("similar").addEventListener("click", labelSimilar);
$("hard").addEventListener("click", showHard);
$("freeze").addEventListener("click", freeze);
$("clear").addEventListener("click", () => { clearPrompt(); state.selection = null;
                                             renderSuggestions(); draw(); });

document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement;
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;  // Enter in the Label box submits its form
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const item = selected();
  if (/^[1-9]$/.test(event.key) && item) {
    const s = item.suggestions[Number(event.key) - 1];
    if (s) { event.preventDefault(); save(s.label); }
  } else if (event.key === "Enter" && item) {
    event.preventDefault(); save();
  } else if (event.key === "Tab" && state.view && !event.shiftKey) {
    event.preventDefault(); cycle();
  } else if (event.key === "z" || event.key === "Z") {
    undo();
  } else if (event.key === "a" || event.key === "A") {
    move(-1);
  } else if (event.key === "d" || event.key === "D") {
    move(1);
  } else if (event.key === "Escape") {
    clearPrompt(); state.selection = null; renderSuggestions(); draw();
  }
});

(async function start() {
  try {
    const info = await api("GET", "api/state");
    state.live = info.live; state.names = info.names;
    renderLabels(info.labels);
    $("freeze").hidden = !info.live;
    if (info.count) await show(info.live ? info.count - 1 : 0);
    else { draw(); say(info.live ? "Press Freeze to take the camera's latest frame."
                                 : "No pictures."); }
  } catch (error) { say(error.message, true); }
})();
