/**
 * Push rule actions (modules/push.md, "Actions"): `notify`, and `set_tweak`
 * entries for the push gateway. The historical `dont_notify` and `coalesce`
 * are accepted and ignored.
 */
import { invalidParam } from '../errors';
import type { Action } from './rules';

const KNOWN_STRING_ACTIONS: ReadonlySet<string> = new Set(['notify', 'dont_notify', 'coalesce']);

/** Refuses (400 M_INVALID_PARAM) an action the spec does not define. */
export function checkActions(actions: readonly Action[]): void {
  actions.forEach((action, i) => {
    if (typeof action === 'string') {
      if (!KNOWN_STRING_ACTIONS.has(action)) throw invalidParam(`Unknown action '${action}' at actions.${i}`);
    } else if (typeof action !== 'object' || action === null || Array.isArray(action) || typeof action.set_tweak !== 'string') {
      throw invalidParam(`actions.${i} must be a string or an object with a string 'set_tweak'`);
    }
  });
}

/** What a matched rule's actions mean for one user. */
export interface Outcome {
  notify: boolean;
  highlight: boolean;
  /** set_tweak entries by name; `highlight` without a value reads as true. */
  tweaks: Record<string, unknown>;
}

export function outcomeOf(actions: readonly Action[]): Outcome {
  const tweaks: Record<string, unknown> = {};
  let notify = false;
  for (const action of actions) {
    if (action === 'notify') notify = true;
    else if (typeof action === 'object' && action !== null && typeof action.set_tweak === 'string') {
      tweaks[action.set_tweak] = action.set_tweak === 'highlight' && !('value' in action) ? true : action.value;
    }
  }
  return { notify, highlight: notify && tweaks.highlight === true, tweaks };
}
