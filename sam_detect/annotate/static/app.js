// Copyright 2026 The sam_detect_ros Authors
// SPDX-License-Identifier: MIT
// The annotation page: plain JavaScript and one canvas. The server sends small PNG masks
// (bounding-box crops); they are tinted here and hit-tested from their alpha.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
const viewport = $("viewport");
// Label colours come from the server (sam_detect/palette.py, the overlays' palette); these
// are the page's own marks: prompt points, the selection and the brush outline.
const POINT_YES = "#00d000", POINT_NO = "#e00000", MARK = "#ffffff", MARK_SHADOW = "#000000";
const FILL_ALPHA = 105, EDGE_ALPHA = 255;   // every found object: filled, with its edge drawn
const MAX_ZOOM = 16, STROKES_KEPT = 8;

const state = {
  live: false, names: [], index: 0, view: null, photo: null,
  masks: [],              // per instance: {bbox, alpha (Uint8Array), tinted (canvas)}
  selection: null,        // {kind: "instance", id} | {kind: "prompt", prompt, candidate}
  prompt: null,           // last prompt response: {prompt, candidates: [...]}
  candidateMasks: [],
  points: [], box: null,  // prompts being built
  lastClick: null, lastSaved: null, drag: null,
  pending: null,          // the prompt request in flight: a save waits for its mask
  hover: -1,              // index of the found object under the pointer
  pointer: null,          // last pointer position on the picture (image pixels)
  tool: "select",         // select | brush | eraser | pan
  spaceHeld: false,
  edit: null,             // {canvas, ctx, colour, strokes: [ImageData]}: the mask being painted
  zoom: {scale: 1, x: 0, y: 0},
  colours: {},            // label -> {colour, ink}, from the server
  maxBody: 65536,
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

// Every request of the page goes through here. X-Requested-With marks it as the page's own: the
// server refuses changes without it (or a JSON body), which no form on another site can send.
async function api(method, path, body) {
  const options = {method, headers: {"X-Requested-With": "sam-detect"}};
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

function rgbOf(colour) {
  return [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
}

// Decode a base64 1-channel PNG crop into alpha bytes and a tinted canvas: the mask filled
// in its colour, its edge opaque, so every found object shows before any click.
async function decodeMask(png, bbox, colour) {
  const img = await loadImage("data:image/png;base64," + png);
  const work = document.createElement("canvas");
  work.width = Math.max(1, bbox[2] - bbox[0]);
  work.height = Math.max(1, bbox[3] - bbox[1]);
  const wctx = work.getContext("2d");
  wctx.drawImage(img, 0, 0);
  const data = wctx.getImageData(0, 0, work.width, work.height);
  const alpha = new Uint8Array(work.width * work.height);
  for (let p = 0; p < alpha.length; p++) alpha[p] = data.data[p * 4] > 127 ? 1 : 0;
  const [r, g, b] = rgbOf(colour);
  const w = work.width, h = work.height;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const on = alpha[p] === 1;
      const edge = on && (x === 0 || y === 0 || x === w - 1 || y === h - 1 ||
                          !alpha[p - 1] || !alpha[p + 1] || !alpha[p - w] || !alpha[p + w]);
      data.data[p * 4] = r; data.data[p * 4 + 1] = g; data.data[p * 4 + 2] = b;
      data.data[p * 4 + 3] = edge ? EDGE_ALPHA : (on ? FILL_ALPHA : 0);
    }
  }
  wctx.putImageData(data, 0, 0);
  return {bbox, alpha, tinted: work, width: work.width, colour};
}

function inside(mask, x, y) {
  const [x0, y0, x1, y1] = mask.bbox;
  if (x < x0 || y < y0 || x >= x1 || y >= y1) return false;
  return mask.alpha[(Math.floor(y) - y0) * mask.width + (Math.floor(x) - x0)] === 1;
}

// The found objects under a point, smallest first (a part before the whole).
function hitsAt(x, y) {
  return state.masks.map((m, k) => [m, k]).filter(([m]) => inside(m, x, y))
    .sort((a, b) => state.view.instances[a[1]].area - state.view.instances[b[1]].area)
    .map(([, k]) => k);
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

// -- the page's address: picture and selection survive a reload ------------------------------

function writeAddress() {
  if (!state.view) return;
  const params = new URLSearchParams();
  params.set("image", String(state.index + 1));
  const sel = state.selection;
  if (sel && sel.kind === "instance") params.set("instance", String(sel.id));
  if (sel && sel.kind === "prompt") {
    params.set("prompt", sel.prompt);
    params.set("candidate", String(sel.candidate));
  }
  const hash = "#" + params.toString();
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function readAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const image = parseInt(params.get("image") || "", 10);
  return {
    index: Number.isFinite(image) ? image - 1 : null,
    instance: params.has("instance") ? parseInt(params.get("instance"), 10) : null,
    prompt: params.get("prompt"),
    candidate: parseInt(params.get("candidate") || "0", 10) || 0,
  };
}

async function restoreSelection(address) {
  if (address.instance !== null && state.view.instances.some((i) => i.id === address.instance)) {
    selectInstance(address.instance);
  } else if (address.prompt && /^[0-9a-f]{1,64}$/.test(address.prompt)) {
    try {
      const all = await api("GET", `api/prompts/${address.prompt}`);
      if (!all.candidates.length) return;
      state.prompt = all;
      state.candidateMasks = await Promise.all(all.candidates.map(
        (c) => decodeMask(c.png, c.bbox, c.colour)));
      state.selection = {kind: "prompt", prompt: address.prompt,
                         candidate: Math.min(address.candidate, all.candidates.length - 1)};
      renderSuggestions(); draw(); explain(); writeAddress();
    } catch (error) { writeAddress(); }  // that mask is gone (the server restarted): no selection
  }
}

// -- zoom and pan ---------------------------------------------------------------------------

function clampPan() {
  const z = state.zoom;
  const width = viewport.clientWidth, height = viewport.clientHeight;
  z.x = Math.min(0, Math.max(width - width * z.scale, z.x));
  z.y = Math.min(0, Math.max(height - height * z.scale, z.y));
}

function applyZoom() {
  const z = state.zoom;
  clampPan();
  canvas.style.transform = `translate(${z.x}px, ${z.y}px) scale(${z.scale})`;
  canvas.classList.toggle("zoomed-in", z.scale >= 3);
  $("zoom").textContent = `${Math.round(z.scale * 100)}%`;
}

// Zoom by ``factor`` keeping the picture point under (clientX, clientY) where it is.
function zoomAt(factor, clientX, clientY) {
  const z = state.zoom;
  const rect = viewport.getBoundingClientRect();
  const px = (clientX === undefined ? rect.width / 2 : clientX - rect.left);
  const py = (clientY === undefined ? rect.height / 2 : clientY - rect.top);
  const scale = Math.min(MAX_ZOOM, Math.max(1, z.scale * factor));
  z.x = px - (px - z.x) * scale / z.scale;
  z.y = py - (py - z.y) * scale / z.scale;
  z.scale = scale;
  applyZoom(); draw();
}

function resetZoom() {
  state.zoom = {scale: 1, x: 0, y: 0};
  applyZoom();
}

viewport.addEventListener("wheel", (event) => {
  if (!state.view) return;
  event.preventDefault();
  zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX, event.clientY);
}, {passive: false});

// -- tools: select, brush, eraser, pan --------------------------------------------------------

function setTool(tool) {
  state.tool = tool;
  for (const name of ["select", "brush", "eraser", "pan"]) {
    $(`tool-${name}`).setAttribute("aria-pressed", String(name === tool));
  }
  canvas.classList.toggle("painting", tool === "brush" || tool === "eraser");
  canvas.classList.toggle("panning", tool === "pan");
  if (tool === "eraser" && !state.edit && !selectedMask()) {
    say("Select a mask first: the eraser removes pixels from it.", true);
  } else if (tool === "brush" || tool === "eraser") {
    say(`${tool === "brush" ? "Brush" : "Eraser"}: drag over the picture, then save.`);
  }
  draw();
}

function brushSize() {
  return Number($("brush-size").value);
}

function setBrushSize(size) {
  const slider = $("brush-size");
  slider.value = String(Math.max(Number(slider.min), Math.min(Number(slider.max), size)));
  $("brush-size-value").textContent = `${slider.value} px`;
  draw();
}

// Start editing: the selected mask (or nothing) copied into a full-size layer to paint on.
function beginEdit() {
  if (state.edit) return state.edit;
  const work = document.createElement("canvas");
  work.width = canvas.width; work.height = canvas.height;
  const wctx = work.getContext("2d");
  const chosen = selectedMask();
  const item = selected();
  const colour = chosen ? chosen.colour : (item && item.colour) || MARK;
  if (chosen) {
    const [r, g, b] = rgbOf(colour);
    const image = wctx.createImageData(chosen.width, chosen.alpha.length / chosen.width);
    for (let p = 0; p < chosen.alpha.length; p++) {
      image.data[p * 4] = r; image.data[p * 4 + 1] = g; image.data[p * 4 + 2] = b;
      image.data[p * 4 + 3] = chosen.alpha[p] ? 255 : 0;
    }
    wctx.putImageData(image, chosen.bbox[0], chosen.bbox[1]);
  }
  state.edit = {canvas: work, ctx: wctx, colour, strokes: []};
  return state.edit;
}

function paint(from, to, erase) {
  const edit = beginEdit();
  const c = edit.ctx;
  c.save();
  c.globalCompositeOperation = erase ? "destination-out" : "source-over";
  c.strokeStyle = c.fillStyle = edit.colour;
  c.lineWidth = brushSize(); c.lineCap = "round"; c.lineJoin = "round";
  c.beginPath();
  if (from[0] === to[0] && from[1] === to[1]) {
    c.arc(to[0], to[1], brushSize() / 2, 0, 2 * Math.PI); c.fill();
  } else {
    c.moveTo(from[0], from[1]); c.lineTo(to[0], to[1]); c.stroke();
  }
  c.restore();
}

function undoStroke() {
  const edit = state.edit;
  if (!edit || !edit.strokes.length) return false;
  edit.ctx.putImageData(edit.strokes.pop(), 0, 0);
  draw();
  say(edit.strokes.length ? "Stroke undone." : "Stroke undone (no more strokes to undo).");
  return true;
}

// The edited mask as uncompressed COCO RLE: column-major runs, starting with background.
function editedMask() {
  const width = canvas.width, height = canvas.height;
  const pixels = state.edit.ctx.getImageData(0, 0, width, height).data;
  const counts = [];
  let current = 0, run = 0, painted = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const on = pixels[(y * width + x) * 4 + 3] > 127 ? 1 : 0;
      painted += on;
      if (on !== current) { counts.push(run); run = 0; current = on; }
      run++;
    }
  }
  counts.push(run);
  return {mask: {size: [height, width], counts}, painted};
}

function dropEdit() {
  state.edit = null;
}

// -- drawing ------------------------------------------------------------------------------------

function drawCaption(inst) {
  const caption = inst.caption;
  if (!caption) return;
  const [x0, y0, x1, y1] = caption.box;
  const height = y1 - y0, width = x1 - x0;
  ctx.fillStyle = inst.colour;
  ctx.fillRect(x0, y0, width, height);
  let size = Math.max(6, Math.round(height * 0.72));
  ctx.font = `${size}px sans-serif`;
  while (size > 6 && ctx.measureText(caption.text).width > width - 2) {
    size -= 1; ctx.font = `${size}px sans-serif`;
  }
  ctx.fillStyle = inst.ink;
  ctx.textBaseline = "middle";
  ctx.fillText(caption.text, x0 + 1, y0 + height / 2 + 0.5, width - 2);
  ctx.textBaseline = "alphabetic";
}

function draw() {
  if (!state.photo) {
    ctx.fillStyle = "#222"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    return;
  }
  ctx.drawImage(state.photo, 0, 0);
  const chosen = selectedMask();
  state.masks.forEach((m, k) => {
    if (m === chosen && state.edit) return;  // the edited copy is drawn instead
    ctx.drawImage(m.tinted, m.bbox[0], m.bbox[1]);
    if (k === state.hover && m !== chosen) ctx.drawImage(m.tinted, m.bbox[0], m.bbox[1]);
  });
  (state.view.saved || []).forEach((s) => {
    const colour = (state.colours[s.label] || {}).colour || MARK;
    ctx.strokeStyle = colour; ctx.lineWidth = Math.max(2, canvas.width / 400);
    ctx.setLineDash([8, 4]);
    ctx.strokeRect(s.bbox[0], s.bbox[1], s.bbox[2] - s.bbox[0], s.bbox[3] - s.bbox[1]);
    ctx.setLineDash([]);
  });
  const line = Math.max(1.5, canvas.width / 500) / state.zoom.scale;
  if (state.edit) {
    ctx.save();
    ctx.globalAlpha = 0.6;
    ctx.drawImage(state.edit.canvas, 0, 0);
    ctx.restore();
  } else if (chosen) {
    ctx.drawImage(chosen.tinted, chosen.bbox[0], chosen.bbox[1]);
    ctx.drawImage(chosen.tinted, chosen.bbox[0], chosen.bbox[1]);
    const [x0, y0, x1, y1] = chosen.bbox;
    ctx.lineWidth = 3 * line; ctx.strokeStyle = MARK_SHADOW;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.lineWidth = line; ctx.strokeStyle = MARK;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
  }
  if (!state.edit) state.view.instances.forEach(drawCaption);  // editing: nothing on top
  const r = Math.max(4, canvas.width / 150) / Math.sqrt(state.zoom.scale);
  state.points.forEach(([x, y, positive]) => {
    ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = positive ? POINT_YES : POINT_NO; ctx.fill();
    ctx.strokeStyle = MARK; ctx.lineWidth = 2; ctx.stroke();
  });
  const box = state.drag && state.drag.box ? state.drag.box : state.box;
  if (box) {
    ctx.setLineDash([6, 4]); ctx.strokeStyle = MARK; ctx.lineWidth = 2;
    ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
    ctx.setLineDash([]);
  }
  if ((state.tool === "brush" || state.tool === "eraser") && state.pointer) {
    const [x, y] = state.pointer;
    ctx.beginPath(); ctx.arc(x, y, brushSize() / 2, 0, 2 * Math.PI);
    ctx.lineWidth = 2 * line; ctx.strokeStyle = MARK_SHADOW; ctx.stroke();
    ctx.lineWidth = line; ctx.strokeStyle = MARK; ctx.stroke();
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

function renderLabels(labels, colours) {
  if (colours) state.colours = colours;
  const list = $("labels");
  list.replaceChildren();
  Object.entries(labels).forEach(([label, count]) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${label} (${count})`;
    const look = state.colours[label];
    if (look) { button.style.background = look.colour; button.style.color = look.ink; }
    button.addEventListener("click", () => showGallery(label));
    li.appendChild(button);
    list.appendChild(li);
  });
}

function describeHover() {
  const holder = $("hover");
  if (state.hover < 0 || !state.view) { holder.textContent = ""; return; }
  const inst = state.view.instances[state.hover];
  holder.textContent = inst.label
    ? `${inst.label} (confidence ${inst.confidence}): click to select`
    : "an object not known yet: click to select and name it";
}

// -- pictures -----------------------------------------------------------------------------------

async function show(index, view) {
  const started = performance.now();
  try {
    if (!view) view = await api("GET", `api/images/${index}`);
    const photo = await loadImage(`api/images/${index}/jpeg`);
    const samePicture = state.view && state.index === index;
    state.index = index; state.view = view; state.photo = photo;
    if (view.colours) state.colours = view.colours;
    canvas.width = view.width; canvas.height = view.height;
    state.masks = await Promise.all(view.instances.map(
      (inst) => decodeMask(inst.png, inst.bbox, inst.colour)));
    clearPrompt(); dropEdit();
    state.selection = null; state.hover = -1;
    if (!samePicture) resetZoom();
    $("position").textContent = `${index + 1} / ${view.count}: ${view.name}`;
    $("similar").disabled = true;
    renderSuggestions(); draw(); describeHover(); $("explain").replaceChildren();
    writeAddress();
    showTiming(view.cached ? "image (cached)" : `image (encoded in ${view.encode_ms} ms)`,
               started, view.server_ms);
    say(view.instances.length ? `${view.instances.length} objects found; click one.`
                              : "No object found: click one to make a mask.");
  } catch (error) { say(error.message, true); }
}

async function refreshView(view) {
  // The same picture with refreshed suggestions and colours: keep the selection.
  state.view = view;
  if (view.colours) state.colours = view.colours;
  state.masks = await Promise.all(view.instances.map(
    (inst) => decodeMask(inst.png, inst.bbox, inst.colour)));
  renderSuggestions(); draw();
}

function clearPrompt() {
  state.points = []; state.box = null; state.prompt = null; state.candidateMasks = [];
}

function clearSelection() {
  clearPrompt(); dropEdit(); state.selection = null;
  renderSuggestions(); draw(); writeAddress();
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
      (c) => decodeMask(c.png, c.bbox, c.colour)));
    state.selection = {kind: "prompt", prompt: result.prompt, candidate: 0};
    renderSuggestions(); draw(); writeAddress();
    showTiming("click→mask", started, result.server_ms);
    say(`A mask from ${result.masker}; Tab for other candidates, B/E to fix it by hand.`);
    explain();
  } catch (error) { say(error.message, true); draw(); }
  state.pending = null;
}

function selectInstance(id) {
  clearPrompt(); dropEdit();
  state.selection = {kind: "instance", id};
  renderSuggestions(); draw(); explain(); writeAddress();
}

function canvasPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * canvas.width / rect.width,
          (event.clientY - rect.top) * canvas.height / rect.height];
}

function panning(event) {
  return state.tool === "pan" || state.spaceHeld || event.button === 1;
}

canvas.addEventListener("contextmenu", (event) => event.preventDefault());
canvas.addEventListener("mousedown", (event) => {
  if (!state.view) return;
  event.preventDefault();
  canvas.focus();
  if (panning(event)) {
    state.drag = {pan: [event.clientX, event.clientY, state.zoom.x, state.zoom.y]};
    return;
  }
  const point = canvasPoint(event);
  if (state.tool === "brush" || state.tool === "eraser") {
    const erase = state.tool === "eraser" || event.button === 2;
    if (erase && !state.edit && !selectedMask()) {
      say("Select a mask first: the eraser removes pixels from it.", true);
      return;
    }
    const edit = beginEdit();
    edit.strokes.push(edit.ctx.getImageData(0, 0, canvas.width, canvas.height));
    if (edit.strokes.length > STROKES_KEPT) edit.strokes.shift();
    state.drag = {paint: point, erase};
    paint(point, point, erase);
    draw();
    return;
  }
  state.drag = {start: point, negative: event.shiftKey || event.button === 2};
});
window.addEventListener("mousemove", (event) => {
  const drag = state.drag;
  if (drag && drag.pan) {
    state.zoom.x = drag.pan[2] + event.clientX - drag.pan[0];
    state.zoom.y = drag.pan[3] + event.clientY - drag.pan[1];
    applyZoom();
    return;
  }
  if (!state.view || (event.target !== canvas && !drag)) return;
  const point = canvasPoint(event);
  state.pointer = point;
  if (drag && drag.paint) {
    paint(drag.paint, point, drag.erase);
    drag.paint = point;
    draw();
    return;
  }
  if (drag && drag.start) {
    const [x, y] = point;
    const [sx, sy] = drag.start;
    if (Math.hypot(x - sx, y - sy) > Math.max(6, canvas.width / 100) / state.zoom.scale) {
      drag.box = [Math.min(x, sx), Math.min(y, sy), Math.max(x, sx), Math.max(y, sy)];
      draw();
    }
    return;
  }
  const hits = hitsAt(point[0], point[1]);
  const hover = state.tool === "select" && hits.length ? hits[0] : -1;
  canvas.classList.toggle("over", hover >= 0);
  if (hover !== state.hover || state.tool !== "select") {
    state.hover = hover;
    describeHover(); draw();
  }
});
canvas.addEventListener("mouseleave", () => {
  state.pointer = null;
  if (state.hover >= 0) { state.hover = -1; describeHover(); }
  draw();
});
window.addEventListener("mouseup", (event) => {
  const drag = state.drag;
  if (!drag) return;
  state.drag = null;
  if (drag.pan) return;
  if (drag.paint) {
    say(`Mask edited (${state.tool === "eraser" || drag.erase ? "erased" : "painted"}); ` +
        "name it and save, Ctrl+Z undoes a stroke, Esc drops the edit.");
    return;
  }
  const started = performance.now();
  if (drag.box) {
    state.box = drag.box.map(Math.round);
    state.selection = null; dropEdit();
    state.pending = runPrompt();
    return;
  }
  const [x, y] = drag.start;
  state.lastClick = [x, y];
  const building = state.points.length > 0 || state.box !== null;
  if (!building && !drag.negative) {
    const hits = hitsAt(x, y);
    if (hits.length) {
      selectInstance(state.view.instances[hits[0]].id);
      showTiming("click→mask", started);
      return;
    }
  }
  state.points.push([Math.round(x), Math.round(y), !drag.negative]);
  state.selection = null;  // the new mask replaces the old selection
  dropEdit();
  draw();
  state.pending = runPrompt();
});

// -- teaching -----------------------------------------------------------------------------------

async function save(label) {
  if (state.pending) await state.pending;
  label = (label || $("label").value || "").trim();
  const chosen = target();
  const edit = state.edit;
  if (!chosen && !edit) { say("Select an object first: click it.", true); return; }
  if (!label) {
    const item = selected();
    label = item && item.suggestions.length ? item.suggestions[0].label : "";
  }
  if (!label) { say("Type a label first.", true); $("label").focus(); return; }
  const body = {label, ...(chosen || {})};
  if (edit) {
    const {mask, painted} = editedMask();
    if (!painted) { say("The edited mask is empty: paint the object with the brush.", true); return; }
    body.mask = mask;  // the server embeds and teaches this mask instead of the selected one
    const bytes = JSON.stringify(body).length;
    if (bytes > state.maxBody) {
      say(`The edited mask is too detailed to send (${Math.ceil(bytes / 1024)} kB, the ` +
          `server takes ${Math.floor(state.maxBody / 1024)} kB): smooth it with a bigger brush.`,
          true);
      return;
    }
  }
  const started = performance.now();
  try {
    const view = await api("POST", `api/images/${state.index}/save`, body);
    state.lastSaved = chosen ? {label, ...chosen} : null;
    $("similar").disabled = !chosen;
    $("label").value = "";
    state.points = []; state.box = null;  // the next click starts afresh
    dropEdit();
    canvas.focus();  // so that the keys (Z, A/D, Tab, 1-9) work right after typing a name
    renderLabels(view.labels, view.colours);
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
          (c) => decodeMask(c.png, c.bbox, c.colour)));
        showTiming("more masks", started);
      } catch (error) { say(error.message, true); return; }
    }
    sel.candidate = (sel.candidate + 1) % state.prompt.candidates.length;
    dropEdit();
    say(`Candidate mask ${sel.candidate + 1} of ${state.prompt.candidates.length}.`);
    renderSuggestions(); draw(); explain(); writeAddress();
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
$("clear").addEventListener("click", clearSelection);
for (const name of ["select", "brush", "eraser", "pan"]) {
  $(`tool-${name}`).addEventListener("click", () => setTool(name));
}
$("brush-size").addEventListener("input", () => setBrushSize(brushSize()));
$("zoom-in").addEventListener("click", () => zoomAt(1.5));
$("zoom-out").addEventListener("click", () => zoomAt(1 / 1.5));
$("zoom-fit").addEventListener("click", () => { resetZoom(); draw(); });
window.addEventListener("resize", () => { applyZoom(); });
window.addEventListener("hashchange", async () => {
  const address = readAddress();
  if (address.index === null || !state.names.length) return;
  const index = Math.min(Math.max(0, address.index), state.names.length - 1);
  if (index !== state.index) await show(index);
  await restoreSelection(address);
});

document.addEventListener("keyup", (event) => {
  if (event.key === " ") state.spaceHeld = false;
});

document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement && event.target.type !== "range";
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;  // Enter in the Label box submits its form
  }
  if ((event.ctrlKey || event.metaKey) && (event.key === "z" || event.key === "Z")) {
    if (undoStroke()) event.preventDefault();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const item = selected();
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (/^[1-9]$/.test(key) && item) {
    const s = item.suggestions[Number(key) - 1];
    if (s) { event.preventDefault(); save(s.label); }
  } else if (key === "Enter" && (item || state.edit)) {
    event.preventDefault(); save();
  } else if (key === "Tab" && state.view && !event.shiftKey) {
    event.preventDefault(); cycle();
  } else if (key === "b") {
    setTool("brush");
  } else if (key === "e") {
    setTool("eraser");
  } else if (key === "v") {
    setTool("select");
  } else if (key === "h") {
    setTool("pan");
  } else if (key === " ") {
    event.preventDefault(); state.spaceHeld = true;
  } else if (key === "[") {
    setBrushSize(Math.round(brushSize() / 1.25));
  } else if (key === "]") {
    setBrushSize(Math.max(brushSize() + 1, Math.round(brushSize() * 1.25)));
  } else if (key === "+" || key === "=") {
    zoomAt(1.5);
  } else if (key === "-") {
    zoomAt(1 / 1.5);
  } else if (key === "0") {
    resetZoom(); draw();
  } else if (key === "z") {
    undo();
  } else if (key === "a") {
    move(-1);
  } else if (key === "d") {
    move(1);
  } else if (key === "Escape") {
    clearSelection();
  }
});

(async function start() {
  try {
    const info = await api("GET", "api/state");
    state.live = info.live; state.names = info.names;
    if (info.max_body_bytes) state.maxBody = info.max_body_bytes;
    renderLabels(info.labels, info.colours);
    $("freeze").hidden = !info.live;
    setBrushSize(brushSize());
    const address = readAddress();
    if (info.count) {
      const wanted = address.index !== null && address.index >= 0 && address.index < info.count
        ? address.index : (info.live ? info.count - 1 : 0);
      await show(wanted);
      await restoreSelection(address);
    } else {
      draw(); say(info.live ? "Press Freeze to take the camera's latest frame." : "No pictures.");
    }
  } catch (error) { say(error.message, true); }
})();
