// Charts: Chart.js (vendored) with one look, plus a DOM heat-map. Every chart carries
// data-chart (its name) and data-points (how many values it drew), which the browser tests read.
import { h } from './dom.js'

export const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#f97316', '#64748b', '#14b8a6', '#a16207']
const live = new Set()

function configure() {
  const Chart = window.Chart
  Chart.defaults.animation = false // stable screenshots, no motion for people who asked for none
  Chart.defaults.maintainAspectRatio = false
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily
  Chart.defaults.color = '#475569'
  Chart.defaults.plugins.legend.labels.boxWidth = 12
}

/** Draws a Chart.js chart into `parent`; throws when the chart library is missing. */
export function chart(parent, name, config, { height = 280, label } = {}) {
  if (!window.Chart) throw new Error('chart library not loaded')
  if (!chart.configured) { configure(); chart.configured = true }
  const title = label || parent.closest?.('.panel')?.querySelector('h2')?.textContent || name
  const canvas = h('canvas', { 'data-chart': name, role: 'img', 'aria-label': title })
  const points = config.data.datasets.reduce((sum, dataset) => sum + dataset.data.length, 0)
  canvas.dataset.points = String(points)
  parent.append(h('div', { class: 'chart', style: { height: `${height}px` } }, canvas))
  const instance = new window.Chart(canvas, config)
  live.add(instance)
  return instance
}

/** Frees every chart of the page being left. */
export function destroyCharts() {
  for (const instance of live) instance.destroy()
  live.clear()
}

/** A rows x columns grid coloured by value (`cell(row, column)` -> {value, text, title}). */
export function heatmap(parent, name, { rows, columns, rowLabel, columnLabel, rowTitle, columnTitle, cell }) {
  const cells = rows.flatMap((row) => columns.map((column) => ({ row, column, ...cell(row, column) })))
  const max = Math.max(1, ...cells.map((c) => c.value || 0))
  const gridEl = h('div', {
    class: 'heatmap', 'data-chart': name, 'data-points': String(cells.filter((c) => c.value > 0).length),
    style: { gridTemplateColumns: `auto repeat(${columns.length}, 1fr)` },
  })
  gridEl.append(h('div', { class: 'heat-corner', text: `${rowTitle} \\ ${columnTitle}` }))
  for (const column of columns) gridEl.append(h('div', { class: 'heat-head', text: columnLabel(column) }))
  for (const row of rows) {
    gridEl.append(h('div', { class: 'heat-head', text: rowLabel(row) }))
    for (const column of columns) {
      const c = cells.find((x) => x.row === row && x.column === column)
      const strength = (c.value || 0) / max
      gridEl.append(h('div', {
        class: 'heat-cell', title: c.title, text: c.text,
        style: { background: `rgba(37, 99, 235, ${0.08 + 0.85 * strength})`, color: strength > 0.5 ? '#fff' : '#0f172a' },
      }))
    }
  }
  parent.append(gridEl)
  return gridEl
}

export const percentAxis = (title) => ({
  title: { display: Boolean(title), text: title },
  ticks: { callback: (value) => `${Math.round(value * 100)}%` },
})
