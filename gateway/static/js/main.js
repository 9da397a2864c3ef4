// The dashboard: sign in with an API key, then one page per hash route (#/overview, #/customer/ID ...).
import { api, session } from './api.js'
import { destroyCharts } from './charts.js'
import { forget } from './context.js'
import { clear, describeError, h } from './dom.js'
import { lang, t } from './i18n.js'
import * as overview from './pages/overview.js'
import * as segments from './pages/segments.js'
import * as churn from './pages/churn.js'
import * as recommendations from './pages/recommendations.js'
import * as feedback from './pages/feedback.js'
import * as search from './pages/search.js'
import * as customer from './pages/customer.js'
import * as imports from './pages/imports.js'

const PAGES = [overview, segments, churn, recommendations, feedback, search, imports]
const app = document.getElementById('app')
let current = { allowed: new Set(), who: null }
let rendering = null

document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'
document.title = t('app.title')

function allowed(page) {
  return page.needs.every((route) => current.allowed.has(route))
}

function signInForm(message) {
  destroyCharts()
  const input = h('input', { type: 'password', id: 'api-key', name: 'api-key', autocomplete: 'off', placeholder: 'rpk_...', required: true })
  const note = h('p', { class: 'error', role: 'alert', text: message || '' })
  const form = h('form', { class: 'signin', on: { submit: async (event) => {
    event.preventDefault()
    session.signIn(input.value)
    await start()
  } } },
  h('h1', { text: t('app.title') }),
  h('p', { text: t('signin.intro') }),
  h('label', { for: 'api-key', text: t('signin.key') }), input,
  h('button', { type: 'submit', text: t('signin.submit') }), note,
  h('p', { class: 'hint', text: t('signin.hint') }))
  clear(app).append(h('main', { class: 'signin-page' }, form))
  input.focus()
}

function shell() {
  const nav = h('nav', { 'aria-label': t('nav.label') },
    PAGES.filter(allowed).map((page) => h('a', { href: `#/${page.id}`, 'data-page': page.id, text: t(`nav.${page.id}`) })))
  const who = current.who
  const bar = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/overview', text: 'Rapport' }), nav,
    h('div', { class: 'who' },
      h('span', { class: 'role', text: `${who.name || who.key_id.slice(0, 8)} · ${t(`role.${who.role}`)}` }),
      h('button', { class: 'link', id: 'sign-out', text: t('signout'), on: { click: signOut } })))
  const main = h('main', { id: 'page' })
  clear(app).append(bar, main)
  return main
}

function signOut() {
  session.signOut()
  forget()
  location.hash = ''
  signInForm(t('signout.done'))
}

async function route() {
  const main = document.getElementById('page')
  if (!main) return
  const [, name = 'overview', ...rest] = (location.hash || '#/overview').split('/')
  const page = name === 'customer' ? customer : PAGES.find((p) => p.id === name) || overview
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.page === page.id)
  destroyCharts()
  rendering?.abort()
  rendering = new AbortController()
  // A fresh view per visit: a slower, older render keeps writing into its own detached view.
  const view = h('div', { class: 'view', 'data-page': page.id })
  clear(main).append(view)
  main.dataset.page = page.id
  if (!allowed(page)) {
    view.append(h('p', { class: 'unavailable-note', text: t('error.forbidden') }))
    return
  }
  await page.render(view, { params: rest.map(decodeURIComponent), signal: rendering.signal })
  if (view.isConnected) view.dataset.ready = 'true'
}

async function start() {
  if (!session.key()) return signInForm()
  try {
    current.who = await api('/session')
  } catch (error) {
    session.signOut()
    return signInForm(error.status === 401 ? t('signin.rejected') : describeError(error))
  }
  current.allowed = new Set(current.who.routes.map((r) => `${r.method} ${r.path}`))
  shell()
  await route()
}

window.addEventListener('hashchange', route)
window.addEventListener('rapport:unauthorized', () => {
  if (!session.key()) return
  session.signOut()
  signInForm(t('signin.expired'))
})
start()
