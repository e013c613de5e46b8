// Line icons (24×24, stroked), drawn as SVG elements.

import { html } from '../lib/html.js';

/** @type {Record<string, string>} */
const PATHS = {
  overview: 'M3 13h4v8H3zM10 8h4v13h-4zM17 3h4v18h-4z',
  traces: 'M4 6h10M4 12h16M4 18h7M17 5l3 1-3 1M14 17l3 1-3 1',
  search: 'M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.5 15.5L20 20',
  sessions: 'M4 5h16v10H8l-4 4zM8 9h8M8 12h5',
  cost: 'M12 3v18M16.5 7.5c0-1.7-2-3-4.5-3s-4.5 1.3-4.5 3 2 2.6 4.5 3 4.5 1.3 4.5 3-2 3-4.5 3-4.5-1.3-4.5-3',
  tools: 'M14.5 6.5a4 4 0 0 0-5.4 5.4L3.5 17.5 6.5 20.5l5.6-5.6a4 4 0 0 0 5.4-5.4l-2.5 2.5-2.4-.6-.6-2.4z',
  events: 'M5 4h14v16H5zM8 8h8M8 12h8M8 16h5',
  status: 'M3 12h4l2-6 4 12 2-6h6',
  guardrails: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6zM9 12l2 2 4-4',
  slos: 'M12 3a9 9 0 1 0 9 9M12 3v9h9M15 3.5A9 9 0 0 1 20.5 9',
  alerts: 'M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0',
  scores: 'M12 3l2.7 5.6 6.1.9-4.4 4.3 1 6.1L12 17l-5.4 2.9 1-6.1-4.4-4.3 6.1-.9z',
  settings: 'M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1M15 4v4M9 10v4M17 16v4',
  organization: 'M3 21h18M5 21V4h9v17M14 9h5v12M8 8h3M8 12h3M8 16h3M16 13h1M16 17h1',
  people: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21v-1a7 7 0 0 1 14 0v1M17 11a3 3 0 1 0 0-6M22 21v-1a5 5 0 0 0-4-4.9',
  audit: 'M9 4h10v16H5V8zM9 4v4H5M8 12h8M8 16h6',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  'thumbs-up': 'M7 11v9H4v-9zM7 11l4-8c1.5 0 2.5 1 2.5 2.5V9h5.5a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.8 20H7',
  'thumbs-down': 'M7 13V4H4v9zM7 13l4 8c1.5 0 2.5-1 2.5-2.5V15h5.5a2 2 0 0 0 2-2.3l-1.2-7A2 2 0 0 0 17.8 4H7',
  copy: 'M9 9h11v11H9zM5 15H4V4h11v1',
  check: 'M5 12l5 5L20 7',
};

/**
 * The icon `name` (one of PATHS), `size` pixels square.
 * @param {{ name: string, size?: number }} props
 */
export function Icon({ name, size = 18 }) {
  return html`<svg class="icon" width=${size} height=${size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
    <path d=${PATHS[name]} />
  </svg>`;
}
