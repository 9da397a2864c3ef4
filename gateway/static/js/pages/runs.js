// Starting a segmentation run and following it: a progress bar fed by polling the run.
import { api, ApiError } from '../api.js'
import { describeError, h } from '../dom.js'
import { fmt, t } from '../i18n.js'

const ACTIVE = new Set(['queued', 'running'])
const POLL_MS = 1000

function describeRun(run) {
  const parts = [t(`run.${run.status}`), t('run.asOf', { date: fmt.date(new Date(run.as_of)) })]
  if (run.customers) parts.push(t('run.customers', { n: fmt.int(run.customers) }))
  if (run.duration_seconds) parts.push(t('run.duration', { s: fmt.num(run.duration_seconds, 1) }))
  if (run.error) parts.push(run.error)
  return parts.join(' · ')
}

export async function runControl(body, { onDone, signal }) {
  const { items } = await api('/segmentation/runs?limit=1')
  const last = items[0]
  const asOf = h('input', { type: 'date', id: 'run-as-of', value: last ? last.as_of.slice(0, 10) : new Date().toISOString().slice(0, 10) })
  const button = h('button', { id: 'start-run', text: t('run.start') })
  const bar = h('progress', { id: 'run-progress', max: 100, value: 0, hidden: true })
  const status = h('p', { class: 'run-status', id: 'run-status', 'aria-live': 'polite', text: last ? describeRun(last) : t('run.none') })
  const after = h('div', { class: 'run-after' })
  body.append(h('div', { class: 'run-control' }, h('label', { for: 'run-as-of', text: t('run.asOfLabel') }), asOf, button), bar, status, after)

  async function follow(run) {
    button.disabled = true
    bar.hidden = false
    while (ACTIVE.has(run.status) && !signal?.aborted) {
      bar.value = run.progress || 0
      status.textContent = `${t(`run.${run.status}`)} · ${fmt.num(run.progress || 0, 0)}% · ${run.phase || ''}`
      status.dataset.status = run.status
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      run = await api(`/segmentation/runs/${run.id}`)
    }
    bar.value = run.progress || 0
    status.textContent = describeRun(run)
    status.dataset.status = run.status
    button.disabled = false
    if (run.status === 'succeeded') after.replaceChildren(h('button', { class: 'link', id: 'show-results', text: t('run.showResults'), on: { click: onDone } }))
  }

  button.addEventListener('click', async () => {
    button.disabled = true
    after.replaceChildren()
    try {
      const run = await api('/segmentation/runs', { method: 'POST', body: { as_of: `${asOf.value}T23:59:59Z` } })
      await follow(run)
    } catch (error) {
      button.disabled = false
      if (error instanceof ApiError && error.status === 409) {
        const { items: running } = await api('/segmentation/runs?limit=5')
        const active = running.find((r) => ACTIVE.has(r.status))
        if (active) return follow(active)
      }
      status.textContent = describeError(error)
      status.dataset.status = 'error'
    }
  })
  if (last && ACTIVE.has(last.status)) follow(last)
}
