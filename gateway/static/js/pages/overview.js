// Overview: the headline numbers, the orders trend over the data's last year, segment mix, service health.
import { api, query } from '../api.js'
import { chart, COLORS } from '../charts.js'
import { dataEnd, daysBefore, isoDay, lastYear, segmentationSummary } from '../context.js'
import { h, kpi, panel } from '../dom.js'
import { fmt, segmentName, t } from '../i18n.js'

export const id = 'overview'
export const needs = ['POST /api/v1/customers:search']
const ACTIVE_DAYS = 90

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

// Orders and revenue per month over the data's last year, counted by the customers service.
async function ordersTrend(body, end) {
  const { start } = lastYear(end)
  const stats = await api(`/orders:stats?${query({ from: isoDay(start), to: isoDay(end), interval: 'month' })}`)
  const rows = stats.series
  chart(body, 'orders-trend', {
    type: 'bar',
    data: {
      labels: rows.map((r) => fmt.month(r.period.slice(0, 7))),
      datasets: [
        { label: t('overview.orders'), data: rows.map((r) => r.orders), backgroundColor: COLORS[0], yAxisID: 'y' },
        { label: t('overview.revenue'), data: rows.map((r) => Math.round(Number(r.revenue))), type: 'line', borderColor: COLORS[1], backgroundColor: COLORS[1], yAxisID: 'y1', cubicInterpolationMode: 'monotone' },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, title: { display: true, text: t('overview.orders') } },
        y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: `${t('overview.revenue')} (${stats.currency})` } },
      },
    },
  })
  body.append(h('p', { class: 'note', text: t('overview.ordersTotal', { n: fmt.int(stats.totals.orders) }) }))
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
