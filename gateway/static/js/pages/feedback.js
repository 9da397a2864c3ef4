// Feedback over the data's last year: NPS and CSAT, sentiment, complaints by aspect, keywords,
// and the open alerts inbox with acknowledge.
import { api, query } from '../api.js'
import { chart, COLORS, percentAxis } from '../charts.js'
import { dataEnd, isoDay, lastYear } from '../context.js'
import { describeError, h, panel, table } from '../dom.js'
import { aspectName, fmt, t } from '../i18n.js'

export const id = 'feedback'
export const needs = ['GET /api/v1/feedback/stats', 'GET /api/v1/alerts']

export async function render(root) {
  root.append(h('h1', { text: t('nav.feedback') }))
  const end = await dataEnd()
  const { start } = lastYear(end)
  const period = { from: isoDay(start), to: isoDay(end) }
  root.append(h('p', { class: 'note', text: t('feedback.period', { from: fmt.date(start), to: fmt.date(end) }) }))
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  const stats = api(`/feedback/stats?${query({ ...period, interval: 'month' })}`)
  await Promise.all([
    panel(grid, { title: t('feedback.scores'), id: 'scores' }, async (body) => scores(body, await stats)),
    panel(grid, { title: t('feedback.sentiment'), id: 'sentiment' }, async (body) => sentiment(body, await stats)),
    panel(grid, { title: t('feedback.complaints'), id: 'complaints' }, async (body) => complaints(body, await stats)),
    panel(grid, { title: t('feedback.keywords'), id: 'keywords' }, (body) => keywords(body, period)),
    panel(grid, { title: t('feedback.alerts'), id: 'alerts', wide: true }, alerts),
  ])
}

const months = (stats) => stats.series.map((row) => fmt.month(row.period.slice(0, 7)))

function scores(body, stats) {
  const { totals } = stats
  body.append(h('p', { class: 'headline' },
    h('span', { 'data-kpi': 'nps', text: t('feedback.npsTotal', { nps: fmt.num(totals.nps, 1), n: fmt.int(totals.nps_responses) }) }), ' · ',
    h('span', { 'data-kpi': 'csat', text: t('feedback.csatTotal', { csat: fmt.num(totals.csat, 2), share: fmt.pct(totals.csat_satisfied) }) })))
  chart(body, 'scores', {
    type: 'line',
    data: {
      labels: months(stats),
      datasets: [
        { label: 'NPS', data: stats.series.map((r) => r.nps), borderColor: COLORS[0], backgroundColor: COLORS[0], yAxisID: 'y', cubicInterpolationMode: 'monotone' },
        { label: 'CSAT', data: stats.series.map((r) => r.csat), borderColor: COLORS[2], backgroundColor: COLORS[2], yAxisID: 'y1', cubicInterpolationMode: 'monotone' },
      ],
    },
    options: {
      scales: {
        y: { min: -100, max: 100, title: { display: true, text: 'NPS' } },
        y1: { min: 1, max: 5, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'CSAT' } },
      },
    },
  })
}

function sentiment(body, stats) {
  chart(body, 'sentiment', {
    type: 'line',
    data: {
      labels: months(stats),
      datasets: [
        { label: t('feedback.meanSentiment'), data: stats.series.map((r) => r.sentiment), borderColor: COLORS[4], backgroundColor: COLORS[4], yAxisID: 'y', cubicInterpolationMode: 'monotone' },
        { label: t('feedback.negativeShare'), data: stats.series.map((r) => r.negative_share), borderColor: COLORS[3], backgroundColor: 'rgba(239,68,68,.15)', fill: true, yAxisID: 'y1', cubicInterpolationMode: 'monotone' },
        { label: t('feedback.volume'), data: stats.series.map((r) => r.volume), type: 'bar', backgroundColor: 'rgba(100,116,139,.25)', yAxisID: 'y2' },
      ],
    },
    options: {
      scales: {
        y: { min: -1, max: 1, title: { display: true, text: t('feedback.meanSentiment') } },
        y1: { min: 0, max: 1, position: 'right', grid: { drawOnChartArea: false }, ...percentAxis(t('feedback.negativeShare')) },
        y2: { display: false, beginAtZero: true },
      },
    },
  })
}

function complaints(body, stats) {
  const rows = stats.top_complaints
  if (!rows.length) throw new Error(t('feedback.noComplaints'))
  chart(body, 'complaints', {
    type: 'bar',
    data: {
      labels: rows.map((r) => aspectName(r.aspect)),
      datasets: [
        { label: t('feedback.negativeMentions'), data: rows.map((r) => r.negative), backgroundColor: COLORS[3] },
        { label: t('feedback.mentions'), data: rows.map((r) => r.mentions), backgroundColor: 'rgba(100,116,139,.35)' },
      ],
    },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true } } },
  })
}

async function keywords(body, period) {
  const items = await api(`/feedback/keywords?${query({ ...period, k: 30 })}`)
  if (!items.length) throw new Error(t('feedback.noKeywords'))
  const max = Math.max(...items.map((k) => k.weight))
  body.append(h('ol', { class: 'keywords', 'data-chart': 'keywords', 'data-points': String(items.length) }, items.map((k) => h('li', { lang: k.language === 'zh' ? 'zh' : 'en' },
    h('span', { class: 'term', text: k.term }),
    h('span', { class: 'bar', style: { width: `${Math.round((k.weight / max) * 100)}%` } }),
    h('span', { class: 'muted', text: fmt.int(k.count) })))))
}

async function alerts(body) {
  const page = await api('/alerts?status=open&limit=50')
  const acknowledge = async (alert, button) => {
    button.disabled = true
    try {
      const updated = await api(`/alerts/${alert.id}:acknowledge`, { method: 'POST', body: {} })
      const row = button.closest('tr')
      row.dataset.status = updated.status
      button.replaceWith(h('span', { class: 'badge ok', text: t(`alert.${updated.status}`) }))
    } catch (error) {
      button.disabled = false
      button.title = describeError(error)
    }
  }
  const rendered = table([
    { label: t('alert.severity'), value: (a) => h('span', { class: `badge ${a.severity}`, text: t(`alert.severity.${a.severity}`, {}, a.severity) }) },
    { label: t('alert.title'), value: (a) => a.title },
    { label: t('alert.rule'), value: (a) => t(`alert.rule.${a.rule}`, {}, a.rule) },
    { label: t('alert.customer'), value: (a) => (a.customer_id ? h('a', { href: `#/customer/${encodeURIComponent(a.customer_id)}`, text: a.customer_id.slice(0, 8) }) : '—') },
    { label: t('alert.created'), value: (a) => fmt.dateTime(new Date(a.created_at)) },
    { label: '', value: (a) => h('button', { class: 'small', 'data-alert': a.id, text: t('alert.acknowledge'), on: { click: (event) => acknowledge(a, event.currentTarget) } }) },
  ], page.items, { empty: t('alert.none') })
  body.append(rendered)
  for (const [i, tr] of [...body.querySelectorAll('tbody tr')].entries()) tr.dataset.status = page.items[i].status
  if (page.next_cursor) body.append(h('p', { class: 'note', text: t('alert.more') }))
}
