/**
 * submitMany's items, every one checked (and its payload encoded, and held to its type's
 * maxPayloadBytes) before any is stored, a
 * slice per turn of the event loop, so 100k items do not hold the main thread for the whole
 * check. What the adding needs is kept in arrays, not in an object per item: an object that
 * lives across turns is copied out of the young generation by the scavenger (a submitMany of
 * 100k no-ops promoted ~1.1 KB a task with an object per item, ~0.9 KB with arrays).
 */
import { InvalidOptionError } from './errors.js';
import type { ResolvedSubmitOptions } from './options/submit-options.js';
import type { ParentState } from './scheduler/dependencies.js';
import type { NewTask } from './scheduler/task-states.js';
import { EncodedPayloads } from './store/encoded-payloads.js';
import { newTask, type TaskTypes } from './task-types.js';
import { TurnBudget } from './turns.js';
import type { SubmitItem } from './types.js';

export class SubmitItems {
  readonly #types: string[];
  readonly #payloads: unknown[];
  readonly #encoded: EncodedPayloads;
  readonly #resolved: Array<Readonly<ResolvedSubmitOptions>>;

  private constructor(count: number) {
    this.#types = new Array<string>(count);
    this.#payloads = new Array<unknown>(count);
    this.#encoded = new EncodedPayloads(count);
    this.#resolved = new Array<Readonly<ResolvedSubmitOptions>>(count);
  }

  get count(): number {
    return this.#types.length;
  }

  /**
   * Checks every item (typed errors, naming the item). `stillOpen` is called after each turn
   * given up, and throws if the runtime closed meanwhile.
   */
  static async check(items: SubmitItem[], types: TaskTypes, stillOpen: () => void): Promise<SubmitItems> {
    if (!Array.isArray(items)) throw new InvalidOptionError('items', 'submitMany expects an array of { type, payload?, options? }.');
    const list = [...items];
    const checked = new SubmitItems(list.length);
    const budget = new TurnBudget();
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      if (typeof item !== 'object' || item === null) throw new InvalidOptionError(`items[${i}]`, 'expected { type, payload?, options? }.');
      const { type, payload } = item;
      checked.#resolved[i] = types.resolve(type, item.options);
      checked.#encoded.set(i, payload);
      types.checkPayloadSize(type, checked.#encoded.byteLength(i), `items[${i}]`);
      checked.#types[i] = type;
      checked.#payloads[i] = payload;
      if (budget.spent()) {
        await budget.nextTurn();
        stillOpen();
      }
    }
    return checked;
  }

  /** Whether the item's task is stored (its durable, over its type's and the runtime's). */
  durable(index: number): boolean {
    return this.#resolved[index]!.durable;
  }

  dependsOn(index: number): string[] {
    return this.#resolved[index]!.relations.dependsOn;
  }

  task(index: number, parents?: ParentState[]): NewTask {
    return newTask(this.#types[index]!, this.#payloads[index], this.#encoded.get(index), this.#resolved[index]!, parents);
  }
}
