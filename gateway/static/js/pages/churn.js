// Churn and value: how churn risk is spread over the customers, and the valuable customers most at risk.
import { api } from '../api.js'
import { chart, COLORS } from '../charts.js'
import { segmentationSummary } from '../context.js'
import { h, panel, table } from '../dom.js'
import { fmt, personName, segmentName, t } from '../i18n.js'

export const id = 'churn'
export const needs = ['POST /api/v1/segments:count', 'POST /api/v1/segments:top', 'GET /api/v1/segments/{key}/members']
const BINS = 10
// RFM's own names for valuable customers who are slipping away.
const AT_RISK_SEGMENTS = ['cant_lose_them', 'at_risk']
const TOP = 15

export async function render(root) {
  root.append(h('h1', { text: t('nav.churn') }))
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  await Promise.all([
    panel(grid, { title: t('churn.distribution'), id: 'churn-distribution' }, distribution),
    panel(grid, { title: t('churn.valueVsRisk'), id: 'value-risk' }, valueVsRisk),
    panel(grid, { title: t('churn.top'), id: 'at-risk', wide: true }, topAtRisk),
  ])
}

function countBetween(low, high, last) {
  const filter = { all: [{ field: 'churn_risk', op: 'gte', value: low }, { field: 'churn_risk', op: last ? 'lte' : 'lt', value: high }] }
  return api('/segments:count', { method: 'POST', body: { filter } }).then((answer) => answer.count)
}

async function distribution(body) {
  const edges = Array.from({ length: BINS + 1 }, (_, i) => Math.round((i / BINS) * 100) / 100)
  const counts = await Promise.all(edges.slice(0, -1).map((low, i) => countBetween(low, edges[i + 1], i === BINS - 1)))
  chart(body, 'churn-distribution', {
    type: 'bar',
    data: {
      labels: edges.slice(0, -1).map((low, i) => `${fmt.pct(low, 0)}–${fmt.pct(edges[i + 1], 0)}`),
      datasets: [{
        label: t('kpi.customers'), data: counts,
        backgroundColor: edges.slice(0, -1).map((low) => (low >= 0.7 ? COLORS[3] : low >= 0.4 ? COLORS[1] : COLORS[2])),
      }],
    },
    options: { plugins: { legend: { display: false } }, scales: { x: { title: { display: true, text: t('churn.risk') } }, y: { beginAtZero: true } } },
  })
  try {
    const metrics = (await segmentationSummary()).run.metrics?.churn
    if (metrics) body.append(h('p', { class: 'note', text: t('churn.model', { auc: fmt.num(metrics.roc_auc, 2), pr: fmt.num(metrics.pr_auc, 2), base: fmt.pct(metrics.base_rate), days: metrics.horizon_days }) }))
  } catch { /* the chart stands on its own */ }
}

// A sample for the scatter: the first page of members of each at-risk RFM segment.
function atRiskMembers() {
  return Promise.all(AT_RISK_SEGMENTS.map((key) => api(`/segments/${key}/members?limit=1000`)))
    .then((pages) => pages.flatMap((page) => page.items))
}

async function valueVsRisk(body) {
  const rows = await atRiskMembers()
  chart(body, 'value-risk', {
    type: 'scatter',
    data: {
      datasets: ['A', 'B', 'C'].map((tier, i) => ({
        label: t('churn.tier', { tier }),
        data: rows.filter((m) => m.tier === tier && m.churn_risk !== null).map((m) => ({ x: m.churn_risk, y: m.monetary })),
        backgroundColor: `${COLORS[[3, 1, 9][i]]}aa`,
      })).filter((dataset) => dataset.data.length),
    },
    options: { scales: { x: { min: 0, max: 1, title: { display: true, text: t('churn.risk') } }, y: { title: { display: true, text: t('churn.spend') } } } },
  })
  body.append(h('p', { class: 'note', text: t('churn.scatterNote', { segments: AT_RISK_SEGMENTS.map((k) => segmentName(k)).join(', ') }) }))
}

// Ranked by the segmentation service over every scored customer of tiers A and B, not over a sample.
async function topAtRisk(body) {
  const filter = { field: 'tier', op: 'in', value: ['A', 'B'] }
  const { items } = await api('/segments:top', { method: 'POST', body: { filter, by: 'at_risk_value', limit: TOP } })
  const top = items.map((m) => ({ ...m, atRisk: m.value }))
  // Names come from the customers service; without it the table still lists ids.
  const profiles = await Promise.all(top.map((m) => api(`/customers/${m.customer_id}`).catch(() => null)))
  top.forEach((m, i) => { m.profile = profiles[i] })
  body.append(table([
    { label: t('churn.customer'), value: (m) => personName(m.profile, m.customer_id.slice(0, 8)) },
    { label: t('search.city'), value: (m) => m.city },
    { label: t('segments.segment'), value: (m) => segmentName(m.segment) },
    { label: t('segments.tier'), value: (m) => m.tier },
    { label: t('churn.risk'), value: (m) => fmt.pct(m.churn_risk), numeric: true },
    { label: t('churn.spend'), value: (m) => fmt.num(m.monetary, 0), numeric: true },
    { label: t('churn.clv'), value: (m) => fmt.num(m.clv_value, 0), numeric: true },
    { label: t('churn.atRiskValue'), value: (m) => fmt.num(m.atRisk, 0), numeric: true },
  ], top, {
    onRowClick: (m) => { location.hash = `#/customer/${m.customer_id}` },
    rowLabel: (m) => t('churn.open', { id: m.customer_id }),
    empty: t('churn.none'),
  }))
  body.append(h('p', { class: 'note', text: t('churn.topNote') }))
}
