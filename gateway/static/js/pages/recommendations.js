// Recommendations: the strongest association rules by lift, and each model's offline metrics next to
// the popularity baseline it has to beat.
import { api, query } from '../api.js'
import { chart, COLORS } from '../charts.js'
import { h, panel, table } from '../dom.js'
import { fmt, t } from '../i18n.js'

export const id = 'recommendations'
export const needs = ['GET /api/v1/rules', 'GET /api/v1/models']
const METRICS = ['precision@10', 'recall@10', 'ndcg@10', 'map@10', 'hit_rate']
const TOP_RULES = 15

export async function render(root) {
  root.append(h('h1', { text: t('nav.recommendations') }))
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  const models = api('/models')
  await Promise.all([
    panel(grid, { title: t('rec.rules'), id: 'rules', wide: true }, (body) => rules(body, 'product')),
    panel(grid, { title: t('rec.metricsAll'), id: 'metrics-all' }, async (body) => metrics(body, await models, '', 'metrics-all')),
    panel(grid, { title: t('rec.metricsNew'), id: 'metrics-new' }, async (body) => metrics(body, await models, '_new_items', 'metrics-new')),
    panel(grid, { title: t('rec.models'), id: 'models', wide: true }, async (body) => modelTable(body, await models)),
  ])
}

async function names(skus) {
  const unique = [...new Set(skus)]
  const products = await Promise.all(unique.map((sku) => api(`/products/${encodeURIComponent(sku)}`).catch(() => null)))
  return new Map(unique.map((sku, i) => [sku, products[i]?.name || sku]))
}

async function rules(body, level) {
  const items = (await api(`/rules?${query({ level, limit: TOP_RULES })}`)).slice().sort((a, b) => b.lift - a.lift).slice(0, TOP_RULES)
  const label = level === 'product' ? await names(items.flatMap((r) => [...r.antecedent, ...r.consequent])) : new Map()
  const side = (skus) => skus.map((s) => label.get(s) || s).join(' + ')
  const content = h('div', {})
  const switcher = h('div', { class: 'switch', role: 'group' }, ['product', 'category'].map((l) => h('button', {
    class: l === level ? 'active' : '', 'data-level': l, text: t(`rec.level.${l}`),
    on: { click: () => { body.replaceChildren(); rules(body, l).catch((e) => body.append(h('p', { class: 'unavailable-note', text: String(e.message) }))) } },
  })))
  body.append(switcher, content)
  chart(content, 'rules', {
    type: 'bar',
    data: {
      labels: items.map((r) => `${side(r.antecedent)} → ${side(r.consequent)}`),
      datasets: [{ label: t('rec.lift'), data: items.map((r) => r.lift), backgroundColor: COLORS[4] }],
    },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false }, tooltip: { callbacks: { afterLabel: (c) => t('rec.ruleTip', { s: fmt.pct(items[c.dataIndex].support, 2), c: fmt.pct(items[c.dataIndex].confidence) }) } } },
      scales: { x: { beginAtZero: true, title: { display: true, text: t('rec.lift') } }, y: { ticks: { autoSkip: false, font: { size: 11 } } } },
    },
  }, { height: Math.max(220, 26 * items.length + 60) })
  content.append(table([
    { label: t('rec.if'), value: (r) => side(r.antecedent) },
    { label: t('rec.then'), value: (r) => side(r.consequent) },
    { label: t('rec.support'), value: (r) => fmt.pct(r.support, 2), numeric: true },
    { label: t('rec.confidence'), value: (r) => fmt.pct(r.confidence), numeric: true },
    { label: t('rec.lift'), value: (r) => fmt.num(r.lift, 2), numeric: true },
  ], items, { empty: t('rec.noRules') }))
}

function serving(models) {
  return models.find((m) => m.serving) || models.find((m) => m.status === 'succeeded')
}

function metrics(body, models, suffix, name) {
  const model = serving(models)
  const evaluation = model?.metrics?.evaluation
  if (!evaluation) throw new Error(t('rec.noModel'))
  const ours = evaluation[`model${suffix}`]
  const baseline = evaluation[`popularity${suffix}`]
  chart(body, name, {
    type: 'bar',
    data: {
      labels: METRICS,
      datasets: [
        { label: t('rec.model', { algorithm: model.params?.algorithm || '' }), data: METRICS.map((m) => ours[m]), backgroundColor: COLORS[0] },
        { label: t('rec.popularity'), data: METRICS.map((m) => baseline[m]), backgroundColor: '#94a3b8' },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  })
  body.append(h('p', { class: 'note', text: t('rec.evaluated', { n: fmt.int(evaluation.customers_evaluated), days: evaluation.holdout_days }) }))
}

function modelTable(body, models) {
  body.append(table([
    { label: t('rec.version'), value: (m) => m.id.slice(0, 8) },
    { label: t('rec.status'), value: (m) => (m.serving ? `${t(`run.${m.status}`)} · ${t('rec.serving')}` : t(`run.${m.status}`)) },
    { label: t('rec.algorithm'), value: (m) => m.params?.algorithm },
    { label: t('run.asOfLabel'), value: (m) => fmt.date(new Date(m.as_of)) },
    { label: t('rec.items'), value: (m) => fmt.int(m.items), numeric: true },
    { label: 'NDCG@10', value: (m) => fmt.num(m.metrics?.evaluation?.model?.['ndcg@10'], 3), numeric: true },
    { label: t('rec.baselineNdcg'), value: (m) => fmt.num(m.metrics?.evaluation?.popularity?.['ndcg@10'], 3), numeric: true },
  ], models))
}
