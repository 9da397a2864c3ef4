// Facts several pages share, asked once per sign-in: the last segmentation run (its as-of time is
// where the demo data ends, so periods are picked from the data, not from today's date).
import { api } from './api.js'

let summary = null

export function segmentationSummary() {
  summary ??= api('/segmentation/summary').catch((error) => { summary = null; throw error })
  return summary
}

export function forget() {
  summary = null
}

/** The end of the data: the last run's as-of time, or now when segmentation cannot say. */
export async function dataEnd() {
  try {
    const { run } = await segmentationSummary()
    return new Date(run.as_of.endsWith('Z') ? run.as_of : `${run.as_of}Z`)
  } catch {
    return new Date()
  }
}

export const isoDay = (date) => date.toISOString().slice(0, 10)

/** The year of data up to `end`: the first of the month 11 months back, to `end`. */
export function lastYear(end) {
  const start = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 11, 1))
  return { start, end }
}

export const daysBefore = (date, days) => new Date(date.getTime() - days * 86400000)
