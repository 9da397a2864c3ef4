// Overview: the headline numbers, the orders trend over the data's last year, segment mix, service health.
import { api, query, streamNdjson } from '../api.js'
import { chart, COLORS } from '../charts.js'
import { dataEnd, daysBefore, isoDay, lastYear, segmentationSummary } from '../context.js'
import { h, kpi, panel } from '../dom.js'
import { fmt, segmentName, t } from '../i18n.js'

export const id = 'overview'
export const needs = ['POST /api/v1/customers:search']
const ACTIVE_DAYS = 90
const MAX_TREND_LINES = 100_000 // about 30 MB of NDJSON; beyond that the months after the cut are marked incomplete

export async function render(root) {
  root.append(h('h1', { text: t('nav.overview') }))
  const end = await dataEnd()
  const kpis = h('div', { class: 'kpis' })
  root.append(kpis, h('p', { class: 'note', text: t('overview.asOf', { date: fmt.date(end) }) }))
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  await Promise.all([
    headline(kpis, end),
    panel(grid, { title: t('overview.ordersTrend'), id: 'orders-trend', wide: true }, (body) => ordersTrend(body, end)),
    panel(grid, { title: t('overview.segmentMix'), id: 'segment-mix' }, segmentMix),
    panel(grid, { title: t('overview.health'), id: 'health' }, health),
  ])
}

async function slot(parent, id, label, load) {
  const el = kpi(label, '…', null, id)
  parent.append(el)
  try {
    const { value, note } = await load()
    el.querySelector('.kpi-value').textContent = value
    if (note) el.append(h('div', { class: 'kpi-note', text: note }))
    el.dataset.state = 'ready'
  } catch (error) {
    el.classList.add('unavailable')
    el.dataset.state = 'unavailable'
    el.querySelector('.kpi-value').textContent = '—'
    el.append(h('div', { class: 'kpi-note', text: t('unavailable') }))
  }
}

function headline(parent, end) {
  const currency = api('/customers:search', { method: 'POST', body: { limit: 1, with_total: true } })
  const { start } = lastYear(end)
  const since = daysBefore(end, ACTIVE_DAYS).toISOString()
  return Promise.all([
    slot(parent, 'customers', t('kpi.customers'), async () => ({ value: fmt.int((await currency).total) })),
    slot(parent, 'active', t('kpi.active'), async () => {
      const body = { filter: { all: [{ field: 'last_order_at', op: 'gte', value: since }] } }
      return { value: fmt.int((await api('/customers:count', { method: 'POST', body })).count), note: t('kpi.activeNote', { days: ACTIVE_DAYS }) }
    }),
    slot(parent, 'revenue', t('kpi.revenue'), async () => {
      const { tiers } = await segmentationSummary()
      const page = await currency
      const code = page.items[0]?.purchases?.currency
      return { value: fmt.money(tiers.reduce((sum, tier) => sum + tier.revenue, 0), code), note: t('kpi.revenueNote') }
    }),
    slot(parent, 'nps', t('kpi.nps'), async () => {
      const stats = await api(`/feedback/stats?${query({ from: isoDay(start), to: isoDay(end), interval: 'month' })}`)
      return { value: fmt.num(stats.totals.nps, 1), note: t('kpi.npsNote', { n: fmt.int(stats.totals.nps_responses) }) }
    }),
    slot(parent, 'alerts', t('kpi.openAlerts'), async () => {
      const page = await api('/alerts?status=open&limit=1000')
      return { value: page.next_cursor ? `${fmt.int(page.items.length)}+` : fmt.int(page.items.length) }
    }),
  ])
}

// The customers service has no orders-per-month aggregate: count the order lines of its export instead.
async function ordersTrend(body, end) {
  const { start } = lastYear(end)
  const months = new Map()
  for (let m = 0; m < 12; m++) {
    const key = isoDay(new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + m, 1))).slice(0, 7)
    months.set(key, { orders: new Set(), revenue: 0 })
  }
  const path = `/exports/orders?${query({ format: 'ndjson', since: start.toISOString(), until: end.toISOString() })}`
  const { complete } = await streamNdjson(path, (line) => {
    if (line.status !== 'placed' && line.status !== 'paid') return
    const month = months.get(line.placed_at.slice(0, 7))
    if (!month) return
    month.orders.add(line.order_id)
    month.revenue += Number(line.line_total_base || 0)
  }, { maxRows: MAX_TREND_LINES })
  const labels = [...months.keys()]
  const rows = [...months.values()]
  chart(body, 'orders-trend', {
    type: 'bar',
    data: {
      labels: labels.map(fmt.month),
      datasets: [
        { label: t('overview.orders'), data: rows.map((r) => r.orders.size), backgroundColor: COLORS[0], yAxisID: 'y' },
        { label: t('overview.revenue'), data: rows.map((r) => Math.round(r.revenue)), type: 'line', borderColor: COLORS[1], backgroundColor: COLORS[1], yAxisID: 'y1', cubicInterpolationMode: 'monotone' },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, title: { display: true, text: t('overview.orders') } },
        y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: t('overview.revenue') } },
      },
    },
  })
  const total = rows.reduce((sum, r) => sum + r.orders.size, 0)
  body.append(h('p', { class: 'note', text: t(complete ? 'overview.ordersTotal' : 'overview.ordersPartial', { n: fmt.int(total) }) }))
}

async function segmentMix(body) {
  const { segments } = await segmentationSummary()
  chart(body, 'segment-mix', {
    type: 'doughnut',
    data: {
      labels: segments.map((s) => segmentName(s.key, s.name)),
      datasets: [{ label: t('kpi.customers'), data: segments.map((s) => s.count), backgroundColor: COLORS }],
    },
    options: { plugins: { legend: { position: 'right' } } },
  })
}

async function health(body) {
  const { services } = await api('/health')
  body.append(h('ul', { class: 'health' }, Object.entries(services).map(([name, state]) => {
    const ok = state.status === 'ready'
    return h('li', { class: ok ? 'ok' : 'down', 'data-service': name },
      h('span', { class: 'dot' }), h('span', { class: 'name', text: name }),
      h('span', { class: 'muted', text: ok ? t('health.ready', { ms: fmt.int(state.latency_ms) }) : t('health.down') }))
  })))
}
