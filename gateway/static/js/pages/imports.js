// Import: upload a CSV or NDJSON file of customers, orders or interactions as an import job, follow it
// with a progress bar (the upload's bytes, then the job polled until it ends), its counts, and its
// error report to download; and the recent jobs.
import { api, fetchBlob, upload } from '../api.js'
import { describeError, h, kpi, panel, table } from '../dom.js'
import { fmt, t } from '../i18n.js'

export const id = 'import'
export const needs = ['POST /api/v1/imports']

const KINDS = ['customers', 'orders', 'interactions']
const ACTIVE = new Set(['queued', 'running'])
const POLL_MS = 500

export async function render(root, ctx) {
  root.append(h('h1', { text: t('nav.import') }))
  const grid = h('div', { class: 'grid' })
  root.append(grid)
  const recent = h('div', { class: 'panel-body' })
  const refresh = () => loadRecent(recent).catch((error) => recent.replaceChildren(h('p', { class: 'unavailable-note', text: describeError(error) })))
  await Promise.all([
    panel(grid, { title: t('import.upload'), id: 'import', wide: true }, (body) => importForm(body, { signal: ctx.signal, onEnd: refresh })),
    panel(grid, { title: t('import.recent'), id: 'imports', wide: true }, async (body) => {
      body.append(recent)
      await loadRecent(recent)
    }),
  ])
}

function size(bytes) {
  if (bytes < 1024) return `${fmt.int(bytes)} B`
  if (bytes < 1024 * 1024) return `${fmt.num(bytes / 1024, 1)} KB`
  if (bytes < 1024 ** 3) return `${fmt.num(bytes / 1024 ** 2, 1)} MB`
  return `${fmt.num(bytes / 1024 ** 3, 2)} GB`
}

/** A link that fetches the job's error report with the signed-in key and saves it as a file. */
function reportLink(job, { id: linkId, text } = {}) {
  const link = h('a', { href: '#', id: linkId, class: 'download', 'data-job': job.id, text: text || t('import.report') })
  link.addEventListener('click', async (event) => {
    event.preventDefault()
    try {
      const blob = await fetchBlob(`/imports/${encodeURIComponent(job.id)}/errors`)
      const url = URL.createObjectURL(blob)
      const save = h('a', { href: url, download: `import-${job.id}-errors.csv` })
      document.body.append(save)
      save.click()
      save.remove()
      setTimeout(() => URL.revokeObjectURL(url), 60000)
    } catch (error) {
      link.after(h('span', { class: 'error', text: ` ${describeError(error)}` }))
    }
  })
  return link
}

function importForm(body, { signal, onEnd }) {
  const file = h('input', { type: 'file', id: 'import-file', name: 'file', accept: '.csv,.ndjson,.jsonl,.json,text/csv,application/x-ndjson', required: true })
  const kind = h('select', { id: 'import-kind', name: 'kind' }, KINDS.map((k) => h('option', { value: k, text: t(`import.kind.${k}`) })))
  const format = h('select', { id: 'import-format', name: 'format' },
    h('option', { value: '', text: t('import.format.auto') }), h('option', { value: 'csv', text: 'CSV' }), h('option', { value: 'ndjson', text: 'NDJSON' }))
  const source = h('input', { type: 'text', id: 'import-source', name: 'source', placeholder: t('import.sourceHint'), maxLength: 64, autocomplete: 'off' })
  const button = h('button', { type: 'submit', id: 'start-import', text: t('import.start') })
  const bar = h('progress', { id: 'import-progress', max: 100, value: 0, hidden: true })
  const status = h('p', { class: 'run-status', id: 'import-status', 'aria-live': 'polite' })
  const counts = h('div', { class: 'kpis compact', id: 'import-counts', hidden: true })
  const after = h('p', { class: 'import-after', id: 'import-after' })
  const field = (label, control) => h('div', { class: 'field-group' }, h('label', { for: control.id, text: label }), control)
  const form = h('form', { class: 'import-form', id: 'import-form' },
    field(t('import.file'), file), field(t('import.kind'), kind), field(t('import.format'), format), field(t('import.source'), source), button)
  body.append(h('p', { class: 'note', text: t('import.intro') }), form, bar, status, counts, after)

  const show = (job) => {
    const done = !ACTIVE.has(job.status)
    bar.value = job.progress || 0
    status.dataset.status = job.status
    status.dataset.job = job.id
    const parts = [t('import.progress', { status: t(`import.${job.status}`), pct: fmt.pct((job.progress || 0) / 100, 0), size: size(job.total_bytes) })]
    if (job.error) parts.push(job.error)
    status.textContent = parts.join(' · ')
    counts.hidden = false
    counts.replaceChildren(
      kpi(t('import.processed'), fmt.int(job.processed), null, 'processed'),
      kpi(t('import.failedLines'), fmt.int(job.failed), null, 'failed'))
    if (!done) return
    after.replaceChildren(job.failed
      ? reportLink(job, { id: 'import-errors', text: t('import.errors', { n: fmt.int(job.failed) }) })
      : (job.status === 'succeeded' ? t('import.noErrors') : ''))
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const chosen = file.files[0]
    if (!chosen) {
      status.textContent = t('import.pickFile')
      status.dataset.status = 'error'
      return
    }
    const data = new FormData()
    data.append('kind', kind.value)
    if (format.value) data.append('format', format.value)
    if (source.value.trim()) data.append('source', source.value.trim())
    data.append('file', chosen, chosen.name)
    button.disabled = true
    after.replaceChildren()
    counts.hidden = true
    bar.hidden = false
    bar.value = 0
    status.dataset.status = 'uploading'
    delete status.dataset.job
    status.textContent = t('import.uploading', { pct: fmt.pct(0, 0) })
    try {
      let job = await upload('/imports', data, {
        onProgress: (sent, total) => {
          bar.value = (100 * sent) / total
          status.textContent = t('import.uploading', { pct: fmt.pct(sent / total, 0) })
        },
      })
      onEnd()
      show(job)
      while (ACTIVE.has(job.status) && !signal?.aborted) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
        job = await api(`/imports/${encodeURIComponent(job.id)}`)
        show(job)
      }
      onEnd()
    } catch (error) {
      bar.hidden = true
      status.textContent = describeError(error)
      status.dataset.status = 'error'
    } finally {
      button.disabled = false
    }
  })
}

async function loadRecent(body) {
  const { items } = await api('/imports?limit=10')
  body.replaceChildren(table([
    { label: t('import.created'), value: (job) => fmt.dateTime(new Date(job.created_at)) },
    { label: t('import.kind'), value: (job) => t(`import.kind.${job.kind}`, {}, job.kind) },
    { label: t('import.source'), value: (job) => job.source },
    { label: t('import.size'), value: (job) => size(job.total_bytes), numeric: true },
    { label: t('import.status'), value: (job) => h('span', { class: `badge ${job.status === 'succeeded' ? 'ok' : job.status === 'failed' ? 'high' : ''}`, text: `${t(`import.${job.status}`)}${ACTIVE.has(job.status) ? ` ${fmt.pct(job.progress / 100, 0)}` : ''}` }) },
    { label: t('import.processed'), value: (job) => fmt.int(job.processed), numeric: true },
    { label: t('import.failedLines'), value: (job) => (job.failed ? h('span', {}, `${fmt.int(job.failed)} · `, reportLink(job)) : '0'), numeric: true },
  ], items, { empty: t('import.none') }))
}
