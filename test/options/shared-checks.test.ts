import { describe, expect, it } from 'vitest';
import { resolveRuntimeOptions } from '../../src/options/runtime-options.js';
import { defaultSubmitOptions, resolveSubmitOptions } from '../../src/options/submit-options.js';
import { checkTypeOptions } from '../../src/options/type-options.js';

const DEFAULTS = defaultSubmitOptions({ priority: 'normal', timeoutMs: null, retries: 0, backoff: null });

/** Where an option can be given, as a function that checks just that option. */
const PLACES = {
  open: (option: string, value: unknown) => resolveRuntimeOptions({ handlers: 'file:///h.js', [option]: value }),
  submit: (option: string, value: unknown) => resolveSubmitOptions({ [option]: value }, DEFAULTS),
  defineTask: (option: string, value: unknown) => checkTypeOptions({ [option]: value }),
};

function thrown(fn: () => unknown): { option: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { option: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('an option given in several places is checked by one check', () => {
  it.each([
    ['priority', 'urgent', ['submit', 'defineTask'], '"urgent" (string)'],
    ['timeoutMs', 0, ['open', 'submit', 'defineTask'], '0 (number)'],
    ['timeoutMs', '5', ['open', 'submit', 'defineTask'], '"5" (string)'],
    ['retries', 1.5, ['submit', 'defineTask'], '1.5 (number)'],
    ['backoff', 100, ['submit', 'defineTask'], '100 (number)'],
    ['concurrency', 0, ['open', 'defineTask'], '0 (number)'],
    ['maxTasksPerThread', -1, ['open', 'defineTask'], '-1 (number)'],
    ['maxPayloadBytes', 0, ['open', 'defineTask'], '0 (number)'],
    ['maxPayloadBytes', 1.5, ['open', 'defineTask'], '1.5 (number)'],
  ] as const)('%s = %j: the same error, naming the option and the value, wherever it is given', (option, value, places, shown) => {
    const errors = places.map((place) => thrown(() => PLACES[place](option, value)));
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION', option });
      expect(error.message).toContain(option);
      expect(error.message).toContain(shown);
    }
    expect(new Set(errors.map((e) => e.message)).size).toBe(1);
  });

  it('a nested backoff field is named by its path in every place', () => {
    const bad = { type: 'fixed', delayMs: 1, jitter: 2 };
    const errors = [thrown(() => PLACES.submit('backoff', bad)), thrown(() => PLACES.defineTask('backoff', bad))];
    expect(errors.map((e) => e.option)).toEqual(['backoff.jitter', 'backoff.jitter']);
    expect(errors[0]!.message).toBe(errors[1]!.message);
  });

  it('defineTask keeps a checked copy of the options it was given', () => {
    const backoff = { type: 'exponential' as const, delayMs: 10 };
    const given = { concurrency: 2, priority: 'high' as const, backoff };
    const checked = checkTypeOptions(given);
    expect(checked).toEqual(given);
    backoff.delayMs = 99;
    expect(checked.backoff).toEqual({ type: 'exponential', delayMs: 10 });
  });
});
