// Preact with htm: components are plain functions returning html`…` templates. htm builds
// elements, never HTML strings, so every interpolated value is text: telemetry is shown
// escaped by construction. Nothing here may use dangerouslySetInnerHTML.
import { h, render, Fragment } from '../../vendor/preact/preact.mjs';
import htm from '../../vendor/htm/htm.mjs';

export { h, render, Fragment };
export {
  useState,
  useEffect,
  useLayoutEffect,
  useMemo,
  useCallback,
  useRef,
  useReducer,
} from '../../vendor/preact/hooks.mjs';

export const html = htm.bind(h);
