// Customer 360: one document from the gateway with every service's part; a part whose service is down
// is named in `degraded` and shown as unavailable, the rest is shown as usual.
import { api } from '../api.js'
import { chart, COLORS } from '../charts.js'
import { h, kpi, panel, table } from '../dom.js'
import { aspectName, fmt, personName, segmentName, t } from '../i18n.js'

export const id = 'customer'
export const needs = ['GET /api/v1/customers/{customer_id}/360']

export async function render(root, { params }) {
  const [customerId] = params
  root.append(h('button', { class: 'link back', text: t('c360.back'), on: { click: () => history.back() } }))
  if (!customerId) {
    root.append(h('p', { class: 'unavailable-note', text: t('c360.pick') }))
    return
  }
  const doc = await panel(root, { title: t('c360.title'), id: 'c360-header', wide: true }, async (body) => {
    const answer = await api(`/customers/${encodeURIComponent(customerId)}/360`)
    header(body, answer)
    return answer
  })
  if (!doc) return
  const down = new Map((doc.degraded || []).map((d) => [d.part, d]))
  const part = (name, value) => {
    if (value !== null && value !== undefined) return value
    const why = down.get(name)
    throw new Error(why ? t('c360.degraded', { service: why.service, reason: why.reason }) : t('c360.noData'))
  }
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  await Promise.all([
    panel(grid, { title: t('c360.scores'), id: 'c360-scores' }, (body) => scores(body, part('scores', doc.scores))),
    panel(grid, { title: t('c360.orders'), id: 'c360-orders' }, (body) => orders(body, part('orders', doc.orders), doc.profile)),
    panel(grid, { title: t('c360.recommendations'), id: 'c360-recommendations' }, (body) => recommendations(body, part('recommendations', doc.recommendations))),
    panel(grid, { title: t('c360.feedback'), id: 'c360-feedback' }, (body) => feedback(body, part('feedback', doc.feedback), part('open_alerts', doc.open_alerts))),
  ])
}

function header(body, doc) {
  const p = doc.profile
  if (!p) throw new Error(t('c360.noProfile'))
  const name = personName(p, p.id)
  const facts = p.purchases || {}
  body.append(
    h('div', { class: 'c360-head' },
      h('div', {},
        h('h1', { id: 'customer-name', text: name }),
        h('p', { class: 'muted', text: [p.email, p.phone, [p.city, p.country].filter(Boolean).join(', ')].filter(Boolean).join(' · ') }),
        h('p', { class: 'muted', text: t('c360.ids', { id: p.id, ids: (p.identities || []).map((i) => `${i.source}:${i.external_id}`).join(', ') }) }),
        doc.merged_from ? h('p', { class: 'note', text: t('c360.merged', { id: doc.merged_from }) }) : null,
        p.tags?.length ? h('p', {}, p.tags.map((tag) => h('span', { class: 'badge', text: tag }))) : null),
      h('div', { class: 'kpis compact' },
        kpi(t('field.order_count'), fmt.int(facts.order_count), null, 'orders'),
        kpi(t('field.total_spent'), fmt.money(Number(facts.total_spent), facts.currency), null, 'spent'),
        kpi(t('field.last_order_at'), facts.last_order_at ? fmt.date(new Date(facts.last_order_at)) : '—', null, 'last-order'),
        kpi(t('field.signed_up_at'), p.signed_up_at ? fmt.date(new Date(p.signed_up_at)) : '—', null, 'signed-up'))))
  if (doc.degraded?.length) {
    body.append(h('p', { class: 'unavailable-note', 'data-degraded': doc.degraded.map((d) => d.part).join(' ') },
      t('c360.partial', { parts: doc.degraded.map((d) => `${d.part} (${d.service})`).join(', ') })))
  }
}

function scores(body, s) {
  if (!s.scored) {
    body.append(h('p', { class: 'note', text: t('c360.notScored') }))
    return
  }
  body.append(h('div', { class: 'kpis compact' },
    kpi(t('segments.segment'), segmentName(s.segment, s.segment_name), s.suggested_action, 'segment'),
    kpi(t('segments.tier'), s.tier ?? '—', null, 'tier'),
    kpi(t('churn.risk'), fmt.pct(s.churn_risk), (s.churn_reasons || []).join('; '), 'churn'),
    kpi(t('churn.clv'), fmt.num(s.clv_value, 0), t('c360.clvNote', { n: fmt.num(s.clv_purchases, 1) }), 'clv')))
  chart(body, 'rfm', {
    type: 'bar',
    data: { labels: ['R', 'F', 'M'], datasets: [{ label: t('c360.rfm'), data: [s.r, s.f, s.m], backgroundColor: [COLORS[0], COLORS[1], COLORS[2]] }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { min: 0, max: 5, ticks: { stepSize: 1 } } } },
  }, { height: 140 })
  if (s.cluster !== null && s.cluster !== undefined) {
    body.append(h('h4', { text: t('segments.cluster', { n: s.cluster }) }), h('ul', { class: 'rules' }, (s.cluster_rules || []).map((rule) => h('li', {}, h('code', { text: rule })))))
  }
}

function orders(body, items, profile) {
  const currency = profile?.purchases?.currency
  const sorted = items.slice().sort((a, b) => a.placed_at.localeCompare(b.placed_at))
  chart(body, 'c360-orders', {
    type: 'bar',
    data: {
      labels: sorted.map((o) => fmt.date(new Date(o.placed_at))),
      datasets: [{ label: t('c360.orderTotal'), data: sorted.map((o) => Number(o.total)), backgroundColor: sorted.map((o) => (o.status === 'paid' || o.status === 'placed' ? COLORS[0] : '#cbd5e1')) }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  }, { height: 200 })
  body.append(table([
    { label: t('c360.date'), value: (o) => fmt.date(new Date(o.placed_at)) },
    { label: t('c360.channel'), value: (o) => o.channel },
    { label: t('c360.status'), value: (o) => o.status },
    { label: t('c360.items'), value: (o) => fmt.int(o.items?.length), numeric: true },
    { label: t('c360.orderTotal'), value: (o) => `${o.total} ${o.currency}`, numeric: true },
  ], items.slice(0, 10), { empty: t('c360.noOrders') }))
  if (currency) body.append(h('p', { class: 'note', text: t('c360.recent', { n: items.length }) }))
}

function recommendations(body, rec) {
  body.append(h('p', { class: 'note', text: t('c360.strategy', { s: rec.strategy }) }))
  body.append(table([
    { label: t('c360.product'), value: (i) => i.name || i.sku },
    { label: t('c360.category'), value: (i) => i.category },
    { label: t('c360.reason'), value: (i) => i.reason },
  ], rec.items, { empty: t('c360.noRecommendations') }))
}

function feedback(body, summary, alerts) {
  body.append(h('div', { class: 'kpis compact' },
    kpi(t('c360.feedbackCount'), fmt.int(summary.count), null, 'feedback-count'),
    kpi('NPS', fmt.num(summary.nps, 0), summary.latest_nps !== null ? t('c360.latestNps', { n: summary.latest_nps }) : null, 'feedback-nps'),
    kpi('CSAT', fmt.num(summary.csat, 1), null, 'feedback-csat'),
    kpi(t('feedback.meanSentiment'), fmt.num(summary.sentiment, 2), null, 'feedback-sentiment')))
  const complaints = Object.entries(summary.complaints || {})
  if (complaints.length) body.append(h('p', {}, t('c360.complaints'), ' ', complaints.map(([aspect, n]) => h('span', { class: 'badge warn', text: `${aspectName(aspect)} ${n}` }))))
  const alertItems = Array.isArray(alerts) ? alerts : alerts?.items || []
  if (alertItems.length) {
    body.append(h('h4', { text: t('feedback.alerts') }), h('ul', { class: 'alerts' }, alertItems.map((a) => h('li', {}, h('span', { class: `badge ${a.severity}`, text: a.severity }), ' ', a.title))))
  }
  body.append(h('h4', { text: t('c360.recentFeedback') }), table([
    { label: t('c360.date'), value: (f) => fmt.date(new Date(f.occurred_at || f.created_at)) },
    { label: t('c360.channel'), value: (f) => f.channel },
    { label: t('c360.text'), value: (f) => f.text || (f.nps !== null && f.nps !== undefined ? `NPS ${f.nps}` : f.csat ? `CSAT ${f.csat}` : '—') },
    { label: t('c360.label'), value: (f) => f.label },
  ], summary.recent || [], { empty: t('c360.noFeedback') }))
}
