/**
 * The task types a runtime knows (its handlers module's defineTask exports), and how a
 * submit of one is checked: the type must exist, and the submit's options are applied over
 * the type's own defaults, then the runtime's. What comes out is a NewTask for the state
 * owner, with its payload already encoded for the store, and no larger encoded than the
 * type's maxPayloadBytes (else the runtime's).
 */
import { InvalidOptionError, PayloadTooLargeError, UnknownTaskTypeError } from './errors.js';
import { defaultSubmitOptions, resolveSubmitOptions, type ResolvedSubmitOptions } from './options/submit-options.js';
import type { ParentState } from './scheduler/dependencies.js';
import type { NewTask } from './scheduler/task-states.js';
import type { EncodedValue } from './store/encoded.js';
import { encodedSize, encodePayload } from './store/encoded-payloads.js';
import type { SubmitOptions, TaskTypeOptions } from './types.js';

const NO_PARENTS: ParentState[] = [];

/** A checked task to add: `parents` are filled in once looked up (dependsOn). */
export function newTask(
  type: string,
  payload: unknown,
  encodedPayload: EncodedValue | undefined,
  resolved: Readonly<ResolvedSubmitOptions>,
  parents: ParentState[] = NO_PARENTS,
): NewTask {
  const { name, description, priority, limits, relations, runAt, debounceMs, durable } = resolved;
  return { type, payload, encodedPayload, name, description, priority, limits, relations, runAt, debounceMs, parents, durable };
}

export class TaskTypes {
  readonly #options: ReadonlyMap<string, TaskTypeOptions>;
  readonly #defaults = new Map<string, Readonly<ResolvedSubmitOptions>>();
  /** The runtime's timeoutMs, under a type's own. */
  readonly #timeoutMs: number | null;
  /** The runtime's maxPayloadBytes, under a type's own. */
  readonly #maxPayloadBytes: number;
  /** The runtime's durable, under a type's own. */
  readonly #durable: boolean;

  constructor(options: ReadonlyMap<string, TaskTypeOptions>, timeoutMs: number | null, maxPayloadBytes: number, durable = true) {
    this.#options = options;
    this.#timeoutMs = timeoutMs;
    this.#maxPayloadBytes = maxPayloadBytes;
    this.#durable = durable;
  }

  get names(): string[] {
    return [...this.#options.keys()];
  }

  /** A submit's task, checked (typed errors) and with its payload encoded. */
  prepare(type: string, payload: unknown, options: SubmitOptions | undefined): NewTask {
    if (!this.#stored(type, options)) {
      // Not stored: its payload is checked and measured, not kept encoded.
      const size = encodedSize(payload);
      const resolved = this.resolve(type, options);
      this.checkPayloadSize(type, size);
      return newTask(type, payload, undefined, resolved);
    }
    const encoded = encodePayload(payload);
    const resolved = this.resolve(type, options);
    this.checkPayloadSize(type, encoded?.byteLength ?? 0);
    return newTask(type, payload, encoded, resolved);
  }

  /** Whether a submit's task will be stored, read before its options are checked (resolve decides). */
  #stored(type: string, options: SubmitOptions | undefined): boolean {
    const own = typeof options === 'object' && options !== null ? options.durable : undefined;
    if (own !== undefined) return own !== false;
    return !this.#options.has(type) || this.#defaultsOf(type).durable;
  }

  /**
   * Throws PayloadTooLargeError (ERR_PAYLOAD_TOO_LARGE) when an encoded payload of `byteLength`
   * bytes is over the type's limit. `item` names it in a submitMany ("items[3]").
   */
  checkPayloadSize(type: string, byteLength: number, item?: string): void {
    const limit = this.#options.get(type)?.maxPayloadBytes ?? this.#maxPayloadBytes;
    if (byteLength > limit) {
      const what = item === undefined ? `the payload of a "${type}" task` : `the payload of ${item} (a "${type}" task)`;
      throw new PayloadTooLargeError(what, byteLength, limit);
    }
  }

  /** The type's defaults with the submit's options applied: checks both (typed errors). */
  resolve(type: string, options: SubmitOptions | undefined): Readonly<ResolvedSubmitOptions> {
    if (!this.#options.has(type)) {
      if (typeof type !== 'string') throw new InvalidOptionError('type', `expected a task type name (string), got ${typeof type}.`);
      throw new UnknownTaskTypeError(type, this.names);
    }
    return resolveSubmitOptions(options, this.#defaultsOf(type));
  }

  /** A type's submit defaults, made on first use and shared by its tasks (see defaultSubmitOptions). */
  #defaultsOf(type: string): Readonly<ResolvedSubmitOptions> {
    let defaults = this.#defaults.get(type);
    if (defaults === undefined) {
      const typeOptions = this.#options.get(type)!;
      defaults = defaultSubmitOptions({
        priority: typeOptions.priority ?? 'normal',
        timeoutMs: typeOptions.timeoutMs ?? this.#timeoutMs,
        retries: typeOptions.retries ?? 0,
        backoff: typeOptions.backoff ?? null,
        durable: typeOptions.durable ?? this.#durable,
      });
      this.#defaults.set(type, defaults);
    }
    return defaults;
  }
}
