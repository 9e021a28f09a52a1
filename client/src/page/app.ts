/**
 * The browser demo page the gateway serves at `/`: pick or drop a file (or
 * paste a URL), pick an operation, fill the form generated from its schema,
 * watch the progress, preview and download the outputs. Bundled by
 * gateway/scripts/build-page.js with the browser client.
 */
import {
  describeField,
  type Job,
  type JobOutput,
  MediaFoundry,
  MediaFoundryError,
  OPERATION_NAMES,
  type OperationName,
  operationFields,
  type OptionField,
  parseFieldValue,
} from '../browser.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const form = $<HTMLFormElement>('job');
const fileInput = $<HTMLInputElement>('file');
const urlInput = $<HTMLInputElement>('url');
const drop = $<HTMLDivElement>('drop');
const operationSelect = $<HTMLSelectElement>('operation');
const optionsBox = $<HTMLFieldSetElement>('options');
const apiKeyRow = $<HTMLLabelElement>('api-key-row');
const apiKeyInput = $<HTMLInputElement>('api-key');
const runButton = $<HTMLButtonElement>('run');
const cancelButton = $<HTMLButtonElement>('cancel');
const status = $<HTMLElement>('status');
const progress = $<HTMLProgressElement>('progress');
const stage = $<HTMLSpanElement>('stage');
const errorBox = $<HTMLParagraphElement>('error');
const results = $<HTMLElement>('results');

let dropped: File[] = [];
let running: Job | null = null;
let client: { mf: MediaFoundry; key: string } | null = null;
const objectUrls: string[] = [];

for (const name of OPERATION_NAMES) operationSelect.append(new Option(name, name));
operationSelect.value = 'thumbnail';

/** One input per option: numbers with their range, a select for an enum, a checkbox for a boolean, JSON otherwise. */
function renderOptions(operation: OperationName): void {
  optionsBox.replaceChildren();
  const fields = operationFields(operation);
  if (fields.length === 0) optionsBox.append(Object.assign(document.createElement('span'), { textContent: 'No options' }));
  for (const field of fields) {
    const label = document.createElement('label');
    label.textContent = field.name;
    label.htmlFor = `opt-${field.name}`;
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    if (field.kind === 'enum') {
      input = document.createElement('select');
      if (!field.required) input.append(new Option(field.default !== undefined ? `(default: ${String(field.default)})` : '(none)', ''));
      for (const v of field.values ?? []) input.append(new Option(String(v), String(v)));
    } else if (field.kind === 'boolean') {
      input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = field.default === true;
    } else if (field.kind === 'json') {
      input = document.createElement('textarea');
      input.placeholder = 'JSON, e.g. [{"type":"scale","width":320}]';
    } else {
      input = document.createElement('input');
      input.type = field.kind === 'string' ? 'text' : 'number';
      if (field.kind === 'number') input.step = 'any';
      if (field.minimum !== undefined) input.min = String(field.minimum);
      if (field.maximum !== undefined) input.max = String(field.maximum);
      if (field.default !== undefined) input.placeholder = String(field.default);
      input.required = field.required;
    }
    input.id = `opt-${field.name}`;
    input.dataset.field = field.name;
    const hint = document.createElement('small');
    hint.textContent = describeField(field);
    optionsBox.append(label, input, hint);
  }
}

function readOptions(operation: OperationName): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const field of operationFields(operation)) {
    const input = document.getElementById(`opt-${field.name}`) as HTMLInputElement | null;
    if (!input) continue;
    const value = readField(field, input);
    if (value !== undefined) options[field.name] = value;
  }
  return options;
}

function readField(field: OptionField, input: HTMLInputElement): unknown {
  if (field.kind === 'boolean') return input.checked === (field.default === true) ? undefined : input.checked;
  return input.value === '' ? undefined : parseFieldValue(field, input.value);
}

function showError(error: unknown): void {
  const e = error instanceof MediaFoundryError ? error : null;
  errorBox.textContent = e ? `${e.code}: ${e.message}${e.details ? ` — ${e.details}` : ''}` : String(error);
  errorBox.hidden = false;
}

function preview(output: JobOutput): HTMLElement {
  const figure = document.createElement('figure');
  const href = output.url ?? URL.createObjectURL(new Blob([output.data as BlobPart], { type: output.contentType }));
  if (!output.url) objectUrls.push(href);
  let media: HTMLElement | null = null;
  if (output.contentType.startsWith('image/')) media = Object.assign(document.createElement('img'), { src: href, alt: output.filename });
  else if (output.contentType.startsWith('video/')) media = Object.assign(document.createElement('video'), { src: href, controls: true });
  else if (output.contentType.startsWith('audio/')) media = Object.assign(document.createElement('audio'), { src: href, controls: true });
  if (media) figure.append(media);
  const link = Object.assign(document.createElement('a'), { href, download: output.filename, textContent: `Download ${output.filename}` });
  const caption = document.createElement('figcaption');
  caption.append(link, ` (${(output.size / 1024).toFixed(1)} KiB, ${output.contentType})`);
  figure.append(caption);
  return figure;
}

async function connect(): Promise<MediaFoundry> {
  const key = apiKeyInput.value;
  if (client && client.key === key) return client.mf;
  await client?.mf.close();
  client = null;
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/`;
  const mf = await MediaFoundry.connect(url, key ? { apiKey: key } : {});
  client = { mf, key };
  return mf;
}

async function run(): Promise<void> {
  errorBox.hidden = true;
  for (const url of objectUrls.splice(0)) URL.revokeObjectURL(url);
  results.replaceChildren();
  const operation = operationSelect.value as OperationName;
  const files = dropped.length > 0 ? dropped : [...(fileInput.files ?? [])];
  const url = urlInput.value.trim();
  if (files.length === 0 && !url) return showError('Pick or drop a file, or paste a URL');
  runButton.disabled = true;
  status.hidden = false;
  progress.value = 0;
  stage.textContent = 'connecting';
  try {
    const mf = await connect();
    const input = url ? { url } : files.length === 1 ? { file: files[0]! } : { files };
    const job = mf.run(operation, input, readOptions(operation) as never);
    running = job;
    cancelButton.disabled = false;
    job.on('upload', (u) => {
      stage.textContent = 'uploading';
      if (u.totalBytes) progress.value = (u.ackedBytes / u.totalBytes) * 100;
    });
    job.on('progress', (p) => {
      stage.textContent = p.stage + (p.queuePosition ? ` (#${p.queuePosition})` : '');
      progress.value = p.percentage;
    });
    job.on('download', (d) => {
      stage.textContent = 'downloading';
      progress.value = (d.receivedBytes / d.totalBytes) * 100;
    });
    job.on('reconnecting', () => (stage.textContent = 'reconnecting'));
    const outputs = await job.result();
    progress.value = 100;
    stage.textContent = 'done';
    if (outputs.length === 0) {
      const pre = document.createElement('pre');
      pre.id = 'metadata';
      pre.textContent = JSON.stringify(await job.metadata(), null, 2);
      results.append(pre);
    }
    for (const output of outputs) results.append(preview(output));
  } catch (err) {
    stage.textContent = 'failed';
    showError(err);
  } finally {
    running = null;
    runButton.disabled = false;
    cancelButton.disabled = true;
  }
}

operationSelect.addEventListener('change', () => renderOptions(operationSelect.value as OperationName));
form.addEventListener('submit', (event) => {
  event.preventDefault();
  void run();
});
cancelButton.addEventListener('click', () => running?.cancel());
fileInput.addEventListener('change', () => (dropped = []));
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  dropped = [...(event.dataTransfer?.files ?? [])];
  drop.querySelector('p')!.textContent = dropped.map((f) => f.name).join(', ');
});

renderOptions('thumbnail');
fetch('/demo/config.json')
  .then((r) => r.json() as Promise<{ auth: boolean }>)
  .then((config) => (apiKeyRow.hidden = !config.auth))
  .catch(() => (apiKeyRow.hidden = false));
