// Customer search: a multi-condition filter builder over the filter language, a live count, and the
// matching customers page by page (a row opens the customer's 360).
import { api } from '../api.js'
import { describeError, h, panel, table } from '../dom.js'
import { fmt, personName, t } from '../i18n.js'

export const id = 'search'
export const needs = ['POST /api/v1/customers:search', 'POST /api/v1/customers:count']
const STATE = 'rapport.search'
const PAGE = 50

const TYPES = {
  string: ['given_name', 'family_name', 'email', 'phone', 'gender', 'income_band', 'occupation', 'education', 'country', 'region', 'city'],
  integer: ['order_count', 'age'],
  number: ['total_spent', 'income'],
  datetime: ['last_order_at', 'first_order_at', 'signed_up_at'],
  date: ['birth_date'],
  boolean: ['consent_email', 'consent_sms', 'consent_personalisation'],
  set: ['tags'],
}
const ORDERED = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'between', 'in', 'not_in', 'exists']
const OPS = {
  string: ['eq', 'ne', 'contains', 'in', 'not_in', 'exists'],
  integer: ORDERED, number: ORDERED, datetime: ORDERED, date: ORDERED,
  boolean: ['eq', 'ne', 'exists'],
  set: ['contains', 'in', 'exists'],
}
const typeOf = (field) => Object.keys(TYPES).find((type) => TYPES[type].includes(field))
const DEFAULT = { combine: 'all', conditions: [{ field: 'order_count', op: 'gte', value: '3' }, { field: 'total_spent', op: 'gt', value: '500' }] }

function scalar(type, raw) {
  const text = String(raw).trim()
  if (text === '') return undefined
  if (type === 'integer') return Number.isInteger(Number(text)) ? Number(text) : undefined
  if (type === 'number') return Number.isFinite(Number(text)) ? Number(text) : undefined
  if (type === 'datetime') return /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text
  if (type === 'boolean') return text === 'true'
  return text
}

/** The filter document of the builder's state; incomplete conditions are left out. */
export function toFilter(state) {
  const conditions = state.conditions.flatMap(({ field, op, value, high }) => {
    const type = typeOf(field)
    let converted
    if (op === 'exists') converted = value !== 'false'
    else if (op === 'in' || op === 'not_in') {
      converted = String(value).split(',').map((item) => scalar(type, item)).filter((item) => item !== undefined)
      if (!converted.length) return []
    } else if (op === 'between') {
      converted = [scalar(type, value), scalar(type, high)]
      if (converted.includes(undefined)) return []
    } else converted = scalar(type, value)
    return converted === undefined ? [] : [{ field, op, value: converted }]
  })
  return { [state.combine]: conditions }
}

function load() {
  try { return JSON.parse(sessionStorage.getItem(STATE)) || structuredClone(DEFAULT) } catch { return structuredClone(DEFAULT) }
}

export async function render(root) {
  root.append(h('h1', { text: t('nav.search') }))
  const state = load()
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  const results = h('div', { id: 'results' })
  await panel(grid, { title: t('search.builder'), id: 'builder', wide: true }, (body) => builder(body, state, results))
  grid.append(h('section', { class: 'panel wide', 'data-panel': 'results' }, h('header', {}, h('h2', { text: t('search.results') })), results))
  await runSearch(state, results)
}

function builder(body, state, results) {
  const rows = h('div', { class: 'conditions' })
  const count = h('p', { class: 'count', id: 'live-count', 'aria-live': 'polite' })
  const preview = h('pre', { class: 'filter-json' })
  let pending = null
  let timer = null

  const changed = () => {
    sessionStorage.setItem(STATE, JSON.stringify(state))
    preview.textContent = JSON.stringify(toFilter(state), null, 2)
    delete count.dataset.count // stale until the new count answers
    clearTimeout(timer)
    timer = setTimeout(liveCount, 250)
  }
  async function liveCount() {
    pending?.abort()
    pending = new AbortController()
    count.classList.remove('error')
    count.textContent = t('search.counting')
    try {
      const { count: n } = await api('/customers:count', { method: 'POST', body: { filter: toFilter(state) }, signal: pending.signal })
      count.textContent = t('search.count', { n: fmt.int(n) })
      count.dataset.count = String(n)
    } catch (error) {
      if (error.name === 'AbortError') return
      count.classList.add('error')
      count.textContent = describeError(error)
      delete count.dataset.count
    }
  }
  const draw = () => {
    rows.replaceChildren(...state.conditions.map((condition, index) => conditionRow(condition, index, state, draw, changed)))
    changed()
  }
  const combine = h('select', { id: 'combine', 'aria-label': t('search.combine'), on: { change: (e) => { state.combine = e.target.value; changed() } } },
    ['all', 'any'].map((c) => h('option', { value: c, selected: state.combine === c, text: t(`search.combine.${c}`) })))
  body.append(
    h('div', { class: 'builder-head' }, h('span', { text: t('search.match') }), combine, h('span', { text: t('search.ofConditions') })),
    rows,
    h('div', { class: 'builder-actions' },
      h('button', { class: 'secondary', id: 'add-condition', text: t('search.add'), on: { click: () => { state.conditions.push({ field: 'city', op: 'eq', value: '' }); draw() } } }),
      h('button', { id: 'run-search', text: t('search.run'), on: { click: () => runSearch(state, results) } }),
      h('button', { class: 'link', id: 'reset-search', text: t('search.reset'), on: { click: () => { Object.assign(state, structuredClone(DEFAULT)); combine.value = state.combine; draw() } } })),
    count,
    h('details', {}, h('summary', { text: t('search.json') }), preview))
  draw()
}

function conditionRow(condition, index, state, draw, changed) {
  const type = typeOf(condition.field)
  if (!OPS[type].includes(condition.op)) condition.op = OPS[type][0]
  const field = h('select', { 'aria-label': t('search.field'), class: 'field', on: { change: (e) => { condition.field = e.target.value; condition.value = ''; condition.high = ''; draw() } } },
    Object.entries(TYPES).map(([kind, names]) => h('optgroup', { label: t(`search.type.${kind}`) },
      names.map((name) => h('option', { value: name, selected: name === condition.field, text: t(`field.${name}`, {}, name) })))))
  const op = h('select', { 'aria-label': t('search.op'), class: 'op', on: { change: (e) => { condition.op = e.target.value; draw() } } },
    OPS[type].map((name) => h('option', { value: name, selected: name === condition.op, text: t(`op.${name}`) })))
  const remove = h('button', { class: 'link remove', 'aria-label': t('search.remove'), text: '×', on: { click: () => { state.conditions.splice(index, 1); draw() } } })
  return h('div', { class: 'condition', 'data-index': index }, field, op, valueInputs(condition, type, changed), remove)
}

function valueInputs(condition, type, changed) {
  const input = (key, extra = {}) => h('input', {
    class: 'value', value: condition[key] ?? '', 'aria-label': t('search.value'),
    type: type === 'integer' || type === 'number' ? 'number' : type === 'date' || type === 'datetime' ? 'date' : 'text',
    step: type === 'number' ? 'any' : undefined,
    on: { input: (e) => { condition[key] = e.target.value; changed() } }, ...extra,
  })
  if (condition.op === 'exists' || type === 'boolean') {
    condition.value = condition.value === 'false' ? 'false' : 'true'
    return h('select', { class: 'value', 'aria-label': t('search.value'), on: { change: (e) => { condition.value = e.target.value; changed() } } },
      ['true', 'false'].map((v) => h('option', { value: v, selected: condition.value === v, text: t(`search.${v}`) })))
  }
  if (condition.op === 'between') return h('span', { class: 'between' }, input('value'), t('search.and'), input('high'))
  if (condition.op === 'in' || condition.op === 'not_in') {
    return h('input', { class: 'value', type: 'text', value: condition.value ?? '', placeholder: t('search.list'), 'aria-label': t('search.value'), on: { input: (e) => { condition.value = e.target.value; changed() } } })
  }
  return input('value')
}

async function runSearch(state, results, cursor = null) {
  const filter = toFilter(state)
  if (!cursor) results.replaceChildren(h('p', { class: 'loading', text: t('loading') }))
  try {
    const page = await api('/customers:search', { method: 'POST', body: { filter, limit: PAGE, cursor, with_total: !cursor } })
    results.querySelector('.loading')?.remove()
    results.querySelector('.more')?.remove()
    if (!cursor) results.append(h('p', { class: 'count', id: 'result-total', text: t('search.count', { n: fmt.int(page.total) }) }))
    const existing = results.querySelector('tbody')
    const rendered = table(columns(), page.items, {
      onRowClick: (c) => { location.hash = `#/customer/${c.id}` },
      rowLabel: (c) => t('churn.open', { id: c.id }),
      empty: t('search.noMatch'),
    })
    if (existing && page.items.length) existing.append(...rendered.querySelectorAll('tbody tr'))
    else results.append(rendered)
    if (page.next_cursor) {
      results.append(h('button', { class: 'secondary more', text: t('search.more'), on: { click: () => runSearch(state, results, page.next_cursor) } }))
    }
  } catch (error) {
    results.replaceChildren(h('p', { class: 'unavailable-note error', text: describeError(error) }))
  }
}

function columns() {
  return [
    { label: t('churn.customer'), value: (c) => personName(c, c.id.slice(0, 8)) },
    { label: t('field.email'), value: (c) => c.email },
    { label: t('search.city'), value: (c) => c.city },
    { label: t('field.order_count'), value: (c) => fmt.int(c.purchases?.order_count), numeric: true },
    { label: t('field.total_spent'), value: (c) => fmt.money(Number(c.purchases?.total_spent), c.purchases?.currency), numeric: true },
    { label: t('field.last_order_at'), value: (c) => (c.purchases?.last_order_at ? fmt.date(new Date(c.purchases.last_order_at)) : '—') },
  ]
}
