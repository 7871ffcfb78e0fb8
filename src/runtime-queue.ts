/**
 * What a runtime on a shared queue (PostgreSQL) has besides what every runtime has: the
 * queue's events between hosts, results of tasks wherever they run, the claimer that takes
 * ready tasks for this host's threads (none on a producer-only host), and the store's feed
 * wired to them. Built by ./runtime-assembly.ts once the state owner holds what it recovered.
 */
import type { BatchPlanner } from './scheduler/batch-planner.js';
import { AHEAD_MAX_MS } from './scheduler/dispatcher.js';
import { QueueClaimer } from './scheduler/queue-claimer.js';
import type { ParentLookup, TaskStateMachine } from './scheduler/task-states.js';
import type { ControlRequest, TypeRate } from './store/task-claims.js';
import type { TaskStore } from './store/task-store.js';
import type { WriteBatcher } from './store/write-batcher.js';
import type { EventBus } from './streams/event-bus.js';
import { QueueEvents } from './streams/queue-events.js';
import { RemoteEndings } from './streams/remote-endings.js';
import { RemoteOutputs } from './streams/remote-outputs.js';
import { OutputForwarders } from './streams/output-forwarders.js';
import { noticeOf, noticeText } from './streams/output-wire.js';
import { withShortcut } from './streams/output-shortcut.js';
import type { StoreHealthMonitor } from './streams/store-health.js';
import type { StoredEvents } from './streams/stored-events.js';

/** What the runtime uses of a shared queue. */
export interface SharedParts {
  /** This host's events to the others, theirs told here. */
  events: QueueEvents;
  /** `result()` of tasks wherever they run. */
  endings: RemoteEndings;
  /** Applies a command another host sent for a task this host holds (set by the runtime). */
  onControl: ((id: string, request: ControlRequest) => void) | undefined;
  /** `output$` of tasks this host does not hold; undefined when the store cannot carry values between hosts. */
  outputs: RemoteOutputs | undefined;
}

export interface QueueMembership {
  shared: SharedParts;
  /**
   * Starts claiming: only once open() has resolved, so whoever subscribes to events$ right
   * after it sees the first claimed tasks start.
   */
  start(): void;
  /** Stops claiming and listening; resolves once a claim under way has handed its tasks over. */
  leave(): Promise<void>;
}

export interface JoinOptions {
  store: TaskStore;
  owner: TaskStateMachine;
  bus: EventBus;
  /** This host's own events, on their way to its bus: they go to the other hosts too. */
  ownEvents: StoredEvents;
  writer: WriteBatcher;
  /** The task types this host runs. */
  types: readonly string[];
  /** The rates of those that have one (defineTask's `rate`). */
  rates: readonly TypeRate[];
  /** Threads; 0 for a producer-only host, which claims nothing. */
  concurrency: number;
  /** What runs have taken so far, per type (how many tasks to hold: see capacity). */
  planner: Pick<BatchPlanner, 'tasksPerCall' | 'longestMs'>;
  leaseMs: number;
  agingMs: number | null;
  lookup: ParentLookup;
  health: StoreHealthMonitor;
}

/**
 * How many tasks a host holds at once. Its threads' tasks; and one more per thread when runs
 * are known to be short enough to be sent ahead (AHEAD_MAX_MS, Dispatcher.dispatch): the
 * next task is then at hand when a thread comes free, not a claim's round trip later. Short
 * enough to batch: as many calls' worth. Unknown or longer runs: one per thread, since a
 * task held behind a long run would wait there while another host's thread is idle.
 */
function capacity(threads: number, tasksPerCall: number, longestMs: number | undefined): number {
  if (tasksPerCall > 1) return 2 * threads * tasksPerCall;
  return longestMs !== undefined && longestMs <= AHEAD_MAX_MS ? 2 * threads : threads;
}

export async function joinQueue(options: JoinOptions): Promise<QueueMembership> {
  const { store, owner, bus, writer } = options;
  const events = new QueueEvents(bus, options.ownEvents, writer);
  const endings = new RemoteEndings({
    bus,
    read: (id) => store.get(id),
  });
  // Pieces for this host, from the server or from its own forwarders: room for a
  // forwarder here, or values for a reader here.
  const deliver = (payload: string) => {
    const piece = forwarders?.piece(payload);
    if (piece !== undefined) outputs?.piece(piece);
  };
  const link = store.outputLink === undefined ? undefined : withShortcut(store.outputLink, deliver);
  const outputs = link === undefined ? undefined : new RemoteOutputs({ queue: link.queue, link });
  const forwarders =
    link === undefined ? undefined : new OutputForwarders({ link, outputs: owner.outputs, holds: (id) => owner.get(id) !== undefined });
  /** This host listens from now on: readers elsewhere tell it the interests it missed. */
  const hello = () => link?.announce(noticeText(link.queue, { kind: 'hello', host: link.host })).catch(() => undefined);
  const shared: SharedParts = { events, endings, onControl: undefined, outputs };
  const claimer =
    options.concurrency === 0
      ? undefined
      : new QueueClaimer({
          store,
          host: owner,
          types: options.types,
          rates: options.rates,
          capacity: () => capacity(options.concurrency, options.planner.tasksPerCall(), options.planner.longestMs()),
          threads: options.concurrency,
          leaseMs: options.leaseMs,
          agingMs: options.agingMs,
          lookup: options.lookup,
          health: options.health,
          // A forwarder whose reader's host died would hold its handler for ever: looked for again with the leases.
          onRenewed: () => forwarders?.recheck(),
          onLost: (ids) =>
            process.emitWarning(`offthread: ${ids.length} task(s) held here were taken by another host after their lease lapsed; they may run twice.`),
        });
  if (claimer !== undefined) owner.onRoom(() => claimer.want());
  let unlisten: () => void;
  try {
    unlisten = await store.listen({
      ready: () => claimer?.want(),
      events: (told) => events.tell(told),
      control: (id, request) => shared.onControl?.(id, request),
      resync: () => {
        endings.recheck();
        outputs?.resync();
        forwarders?.resync();
        void hello();
        claimer?.want();
      },
      outputNotice: (payload) => {
        const notice = link === undefined ? undefined : noticeOf(payload, link.queue);
        if (notice === undefined) return;
        if (notice.kind === 'hello') outputs?.hello(notice.host);
        else forwarders?.notice(notice);
      },
      outputPiece: deliver,
    });
  } catch (error) {
    events.close();
    endings.close();
    forwarders?.close();
    outputs?.close();
    throw error;
  }
  void hello();
  return {
    shared,
    start: () => claimer?.start(),
    leave: async () => {
      await claimer?.stop();
      unlisten();
      events.close();
      endings.close();
      forwarders?.close();
      outputs?.close();
    },
  };
}
