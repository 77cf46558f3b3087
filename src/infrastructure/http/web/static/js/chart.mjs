/**
 * The utilization chart of one worker (CPU, memory, disk over time) with uPlot,
 * loaded only when a drawer first needs it.
 */

const UPLOT = '../vendor/uplot-1.6.32/uPlot.esm.js';
const HEIGHT = 180;
const SERIES = [
  ['cpu_percent', 'CPU', '#2563eb'],
  ['memory_percent', 'Memory', '#b45309'],
  ['disk_percent', 'Disk', '#047857'],
];

/** Samples (`[{at, cpu_percent, ...}]`, oldest first) as uPlot's columns. */
export function columns(samples) {
  const data = [samples.map((s) => Date.parse(s.at) / 1000)];
  for (const [field] of SERIES) data.push(samples.map((s) => s[field]));
  return data;
}

export class UtilizationChart {
  constructor(root) {
    this.root = root;
    this.plot = null;
    this.samples = [];
    this.resize = new ResizeObserver(() => this.plot?.setSize(this._size()));
    this.resize.observe(root);
  }

  _size() {
    return { width: Math.max(240, this.root.clientWidth), height: HEIGHT };
  }

  /** Show these samples (replacing what was shown). */
  async show(samples) {
    this.samples = samples;
    const { default: uPlot } = await import(UPLOT);
    this.plot?.destroy();
    this.plot = new uPlot({
      ...this._size(),
      scales: { y: { range: [0, 100] } },
      axes: [{}, { values: (_, ticks) => ticks.map((t) => `${t}%`) }],
      series: [{}, ...SERIES.map(([, label, stroke]) => ({ label, stroke, width: 2,
        value: (_, v) => (v === null || v === undefined ? '—' : `${v.toFixed(1)}%`) }))],
    }, columns(samples), this.root);
  }

  /** Add newer samples (those after the last shown). */
  append(samples) {
    const last = this.samples.at(-1)?.at;
    const fresh = samples.filter((s) => last === undefined || s.at > last);
    if (fresh.length === 0 || this.plot === null) return;
    this.samples = [...this.samples, ...fresh];
    this.plot.setData(columns(this.samples));
  }

  get lastAt() {
    return this.samples.at(-1)?.at ?? null;
  }

  clear() {
    this.plot?.destroy();
    this.plot = null;
    this.samples = [];
  }
}
