// Files on messages: the list under a message (pictures shown, other files to download) and the
// tray of files chosen for the next message, uploaded as soon as they are picked.
import { el } from './api.js';

/** `1.2 MB`, `340 KB`, `12 B`. */
export function size(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

const PICTURES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export const url = (a) => `/api/v1/attachments/${a.id}/${encodeURIComponent(a.name)}`;

/**
 * The files of a message. `blobs` (given where the page cannot send its session with a plain link,
 * as in the widget) fetches a file and answers an object URL for it.
 */
export function renderAttachments(attachments, blobs) {
  if (!attachments || !attachments.length) return null;
  return el('ul', { class: 'attachments' }, attachments.map((a) => {
    const label = `${a.name} (${size(a.size)})`;
    const link = el('a', { href: blobs ? '#' : url(a), download: a.name, title: `Download ${label}` });
    if (PICTURES.includes(a.content_type)) {
      const img = el('img', { alt: a.name, loading: 'lazy', src: blobs ? null : url(a) });
      link.removeAttribute('download');
      link.setAttribute('target', '_blank');
      link.setAttribute('rel', 'noopener');
      link.append(img);
      if (blobs) blobs(a).then((src) => { img.src = src; link.href = src; }).catch(() => { img.alt = `${a.name} (unavailable)`; });
    } else {
      link.append(el('span', { class: 'file-name' }, a.name), el('span', { class: 'file-size' }, size(a.size)));
      if (blobs) blobs(a).then((src) => { link.href = src; }).catch(() => { link.title = 'unavailable'; });
    }
    return el('li', { class: 'attachment' }, link);
  }));
}

/**
 * The files picked for the next message of a conversation. `upload(conversationId, file)` sends one
 * and answers the stored attachment; the tray shows each while it uploads, then with a remove button.
 */
export class Tray {
  constructor(list, upload, onChange = () => {}) {
    this.list = list;
    this.upload = upload;
    this.onChange = onChange;
    this.files = [];
  }

  /** Ids of the uploaded files, in order. */
  ids() {
    return this.files.filter((f) => f.attachment).map((f) => f.attachment.id);
  }

  busy() {
    return this.files.some((f) => f.uploading);
  }

  clear() {
    this.files = [];
    this.render();
  }

  async add(conversationId, picked) {
    const entries = [...picked].map((file) => ({ file, uploading: true, error: null, attachment: null }));
    this.files.push(...entries);
    this.render();
    await Promise.all(entries.map(async (entry) => {
      try {
        entry.attachment = await this.upload(conversationId, entry.file);
      } catch (e) {
        entry.error = e.message;
      }
      entry.uploading = false;
      this.render();
    }));
  }

  render() {
    this.list.replaceChildren(...this.files.map((entry) => {
      const remove = el('button', {
        type: 'button', class: 'link remove-file', 'aria-label': `Remove ${entry.file.name}`,
        onclick: () => { this.files = this.files.filter((f) => f !== entry); this.render(); },
      }, '×');
      const status = entry.uploading ? 'uploading…' : entry.error ? entry.error : size(entry.attachment.size);
      return el('li', { class: entry.error ? 'file failed' : 'file' },
        el('span', { class: 'file-name' }, entry.file.name), ' ', el('span', { class: 'file-size' }, status), ' ', remove);
    }));
    this.list.hidden = this.files.length === 0;
    this.onChange();
  }
}

/** Uploads `file` into a conversation with the page's session, or with `headers` (a bearer token). */
export async function uploadFile(conversationId, file, headers = {}) {
  const res = await fetch(`/api/v1/conversations/${conversationId}/attachments?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...headers, 'content-type': file.type || 'application/octet-stream' },
    body: file,
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && data.error && data.error.message) || `the upload failed (${res.status})`);
  return data;
}

/** Files pasted or dropped onto `target` go to `take`. */
export function acceptDrops(target, take) {
  target.addEventListener('paste', (e) => {
    const files = e.clipboardData && e.clipboardData.files;
    if (files && files.length) { e.preventDefault(); take(files); }
  });
  target.addEventListener('dragover', (e) => { e.preventDefault(); });
  target.addEventListener('drop', (e) => {
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files.length) { e.preventDefault(); take(files); }
  });
}
