// Building the page: elements with text set through textContent (data is never parsed as HTML),
// panels that load on their own and say "unavailable" instead of leaving a hole.
import { t } from './i18n.js'

/** An element: h('a', {class: 'x', href: '#', on: {click}}, 'text', child, [more]). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'class') el.className = value
    else if (name === 'text') el.textContent = value
    else if (name === 'on') for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler)
    else if (name === 'style') Object.assign(el.style, value)
    else if (name in el && !name.startsWith('data') && !name.startsWith('aria')) el[name] = value
    else el.setAttribute(name, value === true ? '' : value)
  }
  append(el, children)
  return el
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

export function clear(el) {
  el.replaceChildren()
  return el
}

/** Why a part could not be shown, in words for the reader. */
export function describeError(error) {
  if (error?.status === 403) return t('error.forbidden')
  if (error?.status === 503 || error?.status === 502 || error?.status === 504) return t('error.serviceDown', { detail: error.detail || error.title })
  if (error?.status === 404) return error.detail || t('error.notFound')
  if (error?.status === 0) return t('error.unreachable')
  return error?.message || String(error)
}

/**
 * A titled panel that loads itself: `load(body)` fills it; if it throws, the panel says the part is
 * unavailable and why, and the rest of the page is unaffected. Returns what `load` returned, or null.
 */
export async function panel(parent, { title, id, wide, actions } = {}, load) {
  const body = h('div', { class: 'panel-body' }, h('p', { class: 'loading', text: t('loading') }))
  const el = h('section', { class: `panel${wide ? ' wide' : ''}`, 'data-panel': id },
    h('header', {}, h('h2', { text: title }), actions),
    body)
  parent.append(el)
  try {
    const result = await load(body)
    body.querySelector(':scope > .loading')?.remove()
    el.dataset.state = 'ready'
    return result
  } catch (error) {
    if (error?.name === 'AbortError') return null
    console.warn(`panel ${id}:`, error)
    el.classList.add('unavailable')
    el.dataset.state = 'unavailable'
    clear(body).append(h('p', { class: 'unavailable-note' }, h('strong', { text: t('unavailable') }), ' ', describeError(error)))
    return null
  }
}

/** A table; `columns` are {label, value(row) -> text or node, numeric}; rows may open something. */
export function table(columns, rows, { onRowClick, rowLabel, empty } = {}) {
  if (!rows.length) return h('p', { class: 'empty', text: empty || t('empty') })
  const head = h('tr', {}, columns.map((c) => h('th', { class: c.numeric ? 'num' : '', text: c.label })))
  const body = rows.map((row) => {
    const tr = h('tr', {}, columns.map((c) => {
      const value = c.value(row)
      return h('td', { class: c.numeric ? 'num' : '' }, value instanceof Node ? value : String(value ?? '—'))
    }))
    if (onRowClick) {
      tr.classList.add('clickable')
      tr.tabIndex = 0
      if (rowLabel) tr.setAttribute('aria-label', rowLabel(row))
      tr.addEventListener('click', () => onRowClick(row))
      tr.addEventListener('keydown', (event) => { if (event.key === 'Enter') onRowClick(row) })
    }
    return tr
  })
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, head), h('tbody', {}, body)))
}

/** A headline number with its label (and a note under it). */
export function kpi(label, value, note, id) {
  return h('div', { class: 'kpi', 'data-kpi': id },
    h('div', { class: 'kpi-label', text: label }),
    h('div', { class: 'kpi-value', text: value }),
    note ? h('div', { class: 'kpi-note', text: note }) : null)
}

export function grid(...children) {
  return h('div', { class: 'grid' }, children)
}
