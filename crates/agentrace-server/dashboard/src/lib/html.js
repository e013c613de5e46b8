// Preact with htm: components are plain functions returning html`…` templates. htm builds
// elements, never HTML strings, so every interpolated value is text: telemetry is shown
// escaped by construction. Nothing here may use dangerouslySetInnerHTML.
import { h, render, Fragment, createContext } from '../../vendor/preact/preact.mjs';
import htm from '../../vendor/htm/htm.mjs';

export { h, render, Fragment, createContext };
export {
  useState,
  useEffect,
  useLayoutEffect,
  useMemo,
  useCallback,
  useRef,
  useReducer,
  useContext,
} from '../../vendor/preact/hooks.mjs';

export const html = htm.bind(h);

/**
 * An `onInput` or `onChange` handler giving `set` the value of the input or select it is on
 * (template values are not typed, so handlers that read their event come from here).
 * @param {(value: string) => void} set
 * @returns {(event: Event) => void}
 */
export const withValue = (set) => (event) => set(/** @type {HTMLInputElement | HTMLSelectElement} */ (event.target).value);
