// Segments: RFM segment sizes and revenue share, the R x F heat-map, the value-tier Pareto curve,
// clusters with their rules, and starting a new segmentation run with its progress.
import { api } from '../api.js'
import { chart, COLORS, heatmap, percentAxis } from '../charts.js'
import { forget, segmentationSummary } from '../context.js'
import { h, panel, table } from '../dom.js'
import { fmt, segmentName, t } from '../i18n.js'
import { runControl } from './runs.js'

export const id = 'segments'
export const needs = ['GET /api/v1/segmentation/summary']

export async function render(root, ctx) {
  root.append(h('h1', { text: t('nav.segments') }))
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  const reload = () => { forget(); window.dispatchEvent(new HashChangeEvent('hashchange')) }
  await Promise.all([
    panel(grid, { title: t('segments.run'), id: 'run', wide: true }, (body) => runControl(body, { onDone: reload, signal: ctx.signal })),
    panel(grid, { title: t('segments.sizes'), id: 'segment-sizes', wide: true }, sizes),
    panel(grid, { title: t('segments.heatmap'), id: 'rf-heatmap' }, rfGrid),
    panel(grid, { title: t('segments.pareto'), id: 'pareto' }, pareto),
    panel(grid, { title: t('segments.clusters'), id: 'clusters', wide: true }, clusters),
  ])
}

async function sizes(body) {
  const { segments } = await segmentationSummary()
  chart(body, 'segment-sizes', {
    type: 'bar',
    data: {
      labels: segments.map((s) => segmentName(s.key, s.name)),
      datasets: [
        { label: t('segments.shareCustomers'), data: segments.map((s) => s.share_customers), backgroundColor: COLORS[0] },
        { label: t('segments.shareRevenue'), data: segments.map((s) => s.share_revenue), backgroundColor: COLORS[1] },
      ],
    },
    options: {
      indexAxis: 'y',
      scales: { x: percentAxis() },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt.pct(c.raw)} (${fmt.int(segments[c.dataIndex].count)})` } } },
    },
  }, { height: 360 })
  body.append(table([
    { label: t('segments.segment'), value: (s) => segmentName(s.key, s.name) },
    { label: t('kpi.customers'), value: (s) => fmt.int(s.count), numeric: true },
    { label: t('segments.shareRevenue'), value: (s) => fmt.pct(s.share_revenue), numeric: true },
    { label: t('segments.action'), value: (s) => s.action },
  ], segments))
}

async function rfGrid(body) {
  const { rf_grid: cells } = await segmentationSummary()
  const find = (r, f) => cells.find((c) => c.r === r && c.f === f) || { count: 0, revenue: 0 }
  heatmap(body, 'rf-heatmap', {
    rows: [5, 4, 3, 2, 1],
    columns: [1, 2, 3, 4, 5],
    rowLabel: (r) => `R${r}`,
    columnLabel: (f) => `F${f}`,
    rowTitle: 'R',
    columnTitle: 'F',
    cell: (r, f) => {
      const c = find(r, f)
      return { value: c.count, text: fmt.int(c.count), title: t('segments.cell', { r, f, n: fmt.int(c.count), revenue: fmt.num(c.revenue, 0) }) }
    },
  })
  body.append(h('p', { class: 'note', text: t('segments.heatmapNote') }))
}

async function pareto(body) {
  const { pareto: curve, tiers } = await segmentationSummary()
  chart(body, 'pareto', {
    type: 'line',
    data: {
      datasets: [
        { label: t('segments.paretoCurve'), data: curve.map(([x, y]) => ({ x, y })), borderColor: COLORS[0], backgroundColor: 'rgba(37,99,235,.12)', fill: true, pointRadius: 0 },
        { label: t('segments.equality'), data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: '#94a3b8', borderDash: [4, 4], pointRadius: 0 },
      ],
    },
    options: {
      scales: { x: { type: 'linear', min: 0, max: 1, ...percentAxis(t('segments.shareCustomers')) }, y: { min: 0, max: 1, ...percentAxis(t('segments.shareRevenue')) } },
      plugins: { tooltip: { callbacks: { label: (c) => `${fmt.pct(c.raw.x)} → ${fmt.pct(c.raw.y)}` } } },
    },
  })
  body.append(table([
    { label: t('segments.tier'), value: (tier) => tier.tier },
    { label: t('kpi.customers'), value: (tier) => fmt.int(tier.count), numeric: true },
    { label: t('segments.shareCustomers'), value: (tier) => fmt.pct(tier.share_customers), numeric: true },
    { label: t('segments.shareRevenue'), value: (tier) => fmt.pct(tier.share_revenue), numeric: true },
    { label: t('segments.meanSpend'), value: (tier) => fmt.num(tier.mean_spend, 0), numeric: true },
  ], tiers))
}

async function clusters(body) {
  const { clusters: items, run } = await segmentationSummary()
  const maxSize = Math.max(...items.map((c) => c.size))
  chart(body, 'clusters', {
    type: 'bubble',
    data: {
      datasets: items.map((c, i) => ({
        label: t('segments.cluster', { n: c.label }),
        data: [{ x: c.centroid.recency_days, y: c.centroid.frequency, r: 6 + 24 * Math.sqrt(c.size / maxSize), size: c.size, monetary: c.centroid.monetary }],
        backgroundColor: `${COLORS[i % COLORS.length]}99`,
        borderColor: COLORS[i % COLORS.length],
      })),
    },
    options: {
      scales: { x: { title: { display: true, text: t('segments.recencyDays') } }, y: { title: { display: true, text: t('segments.frequency') } } },
      plugins: { tooltip: { callbacks: { label: (c) => t('segments.clusterTip', { n: fmt.int(c.raw.size), m: fmt.num(c.raw.monetary, 0) }) } } },
    },
  })
  const metrics = run.metrics?.clusters
  if (metrics) body.append(h('p', { class: 'note', text: t('segments.clusterMetrics', { k: metrics.k, s: fmt.num(metrics.silhouette, 2), f: fmt.pct(metrics.tree_fidelity) }) }))
  body.append(h('div', { class: 'cards' }, items.map((c, i) => h('article', { class: 'card', 'data-cluster': c.label, style: { borderTopColor: COLORS[i % COLORS.length] } },
    h('h3', { text: t('segments.cluster', { n: c.label }) }),
    h('p', { class: 'muted', text: t('segments.clusterSize', { n: fmt.int(c.size), share: fmt.pct(c.share) }) }),
    h('p', { class: 'muted', text: t('segments.centroid', { r: fmt.num(c.centroid.recency_days, 0), f: fmt.num(c.centroid.frequency, 1), m: fmt.num(c.centroid.monetary, 0) }) }),
    h('h4', { text: t('segments.rules', { p: fmt.pct(c.rule_precision) }) }),
    h('ul', { class: 'rules' }, c.rules.map((rule) => h('li', {}, h('code', { text: rule }))))))))
}
