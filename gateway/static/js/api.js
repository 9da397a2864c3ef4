// The gateway API as the dashboard uses it: the signed-in key, JSON calls, problem+json errors.
const KEY = 'rapport.apiKey'
const BASE = '/api/v1'

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title || `HTTP ${status}`)
    this.status = status
    this.title = title
    this.detail = detail
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key.trim()),
  signOut: () => sessionStorage.removeItem(KEY),
}

async function problem(response) {
  try {
    const body = await response.json()
    return new ApiError(response.status, body.title, body.detail)
  } catch {
    return new ApiError(response.status, response.statusText, '')
  }
}

async function send(path, { method = 'GET', body, signal } = {}) {
  const headers = { Authorization: `Bearer ${session.key()}` }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response
  try {
    response = await fetch(BASE + path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (error) {
    if (error.name === 'AbortError') throw error
    throw new ApiError(0, 'gateway unreachable', String(error))
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent('rapport:unauthorized'))
  if (!response.ok) throw await problem(response)
  return response
}

/** The JSON answer of one call; throws ApiError with the problem's status, title and detail. */
export async function api(path, options) {
  const response = await send(path, options)
  return response.status === 204 ? null : response.json()
}

/** A file answer (a report to download) as a Blob. */
export async function fetchBlob(path) {
  const response = await send(path)
  return response.blob()
}

/**
 * POSTs a multipart form (a file upload) and resolves to the JSON answer. Through XMLHttpRequest, not
 * fetch: only it reports the bytes sent, so a large file shows its upload progress (`onProgress(sent, total)`).
 */
export function upload(path, form, { onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', BASE + path)
    xhr.setRequestHeader('Authorization', `Bearer ${session.key()}`)
    if (onProgress) xhr.upload.addEventListener('progress', (event) => { if (event.lengthComputable) onProgress(event.loaded, event.total) })
    xhr.addEventListener('load', () => {
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent('rapport:unauthorized'))
      let body = null
      try { body = JSON.parse(xhr.responseText) } catch { body = null }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body)
      else reject(new ApiError(xhr.status, body?.title || xhr.statusText, body?.detail || ''))
    })
    xhr.addEventListener('error', () => reject(new ApiError(0, 'gateway unreachable', 'the upload was interrupted')))
    xhr.send(form)
  })
}

export const query = (params) => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) search.set(name, String(value))
  }
  return search.toString()
}
